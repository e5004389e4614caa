"""What every benchmark here reads from /proc, the same way for any process:
CPU time, time spent waiting for a CPU, resident memory; and percentiles
and the machine's description. bench_e2e.py (isthmus alone) and
bench_peers.py (isthmus next to other gateways) both measure with these,
so their figures are comparable."""

import os
import pathlib
import platform
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """CPU time of pid's threads, summed from their schedstat, in ns: the
    user and system times of /proc/<pid>/stat count 10 ms ticks, which over
    500 messages is 20 us per message, too coarse against a 50 us target.
    (A thread that exits between two readings takes its time with it; the
    daemons measured keep theirs.) Falls back to the ticks."""
    total, found = 0, False
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        tasks = []
    for task in tasks:
        try:
            f = pathlib.Path(f"/proc/{pid}/task/{task}/schedstat") \
                .read_text().split()
            total += int(f[0])
            found = True
        except (OSError, IndexError, ValueError):
            continue  # the thread ended meanwhile
    if found:
        return total / 1e9
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]
    f = fields.split()
    return (int(f[11]) + int(f[12])) / CLK_TCK


def run_queue_wait_s(pid):
    """Seconds pid has spent runnable but waiting for a CPU (schedstat)."""
    try:
        f = pathlib.Path(f"/proc/{pid}/schedstat").read_text().split()
        return int(f[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def prosody_pid(prosody):
    """Prosody runs under runuser; the Lua process is its child."""
    out = subprocess.run(["pgrep", "-P", str(prosody.proc.pid)],
                         capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else prosody.proc.pid


def rss_bytes(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def machine():
    cpu_model = "unknown"
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    return {"cpus": os.cpu_count(), "cpu_model": cpu_model,
            "kernel": platform.release(),
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
