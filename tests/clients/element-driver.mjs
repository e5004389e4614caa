// A Matrix user on the crypto stack Element uses (matrix-js-sdk with its
// Rust crypto, matrix-sdk-crypto compiled to WebAssembly), in "exclude
// insecure devices" mode (MSC4153): it shares room keys only with devices
// their owner cross-signed, and decrypts only what such devices sent.
//
//   node element-driver.mjs HOMESERVER NAME GHOST SEND EXPECT
//
// Registers NAME, opens an encrypted DM with GHOST, sends SEND once the
// ghost has joined, and waits for a message EXPECT from the ghost. Prints
// one JSON object per line: {"event": "ready" | "devices" | "sent" |
// "decrypted" | "failed", ...}; exits 0 once EXPECT was decrypted, 1 on a
// failure or after 90 s.
// matrix-js-sdk 43 asks for Node 22; on Node 20 (Debian 12's, this
// project's) it needs only this one addition.
Promise.withResolvers ??= function () {
  let resolve, reject;
  const promise = new Promise((a, b) => { resolve = a; reject = b; });
  return { promise, resolve, reject };
};
const sdk = await import("matrix-js-sdk");

const [homeserver, name, ghost, send, expect] = process.argv.slice(2);
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const fail = (why) => {
  say({ event: "failed", why: String(why) });
  process.exit(1);
};
setTimeout(() => fail("timed out after 90 s"), 90000);
// The SDK's own chatter goes to stderr, out of the protocol's way.
console.log = console.info = console.debug = console.warn = (...a) =>
  process.stderr.write(a.join(" ") + "\n");

const reg = await fetch(`${homeserver}/_matrix/client/v3/register`, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ username: name, password: "pw",
                         auth: { type: "m.login.dummy" } }),
}).then((r) => r.json());
if (!reg.access_token) fail(`registration: ${JSON.stringify(reg)}`);

const client = sdk.createClient({ baseUrl: homeserver, userId: reg.user_id,
                                  deviceId: reg.device_id,
                                  accessToken: reg.access_token });
await client.initRustCrypto({ useIndexedDB: false });
const crypto = client.getCrypto();
crypto.setDeviceIsolationMode({ kind: 1 }); // OnlySignedDevicesIsolationMode
// In that mode a sender needs cross-signing of its own, as every Element
// user has.
await crypto.bootstrapCrossSigning({
  authUploadDeviceSigningKeys: async (makeRequest) => {
    try {
      await makeRequest(null); // the first upload needs no password (MSC3967)
    } catch {
      await makeRequest({ type: "m.login.password", password: "pw",
                          identifier: { type: "m.id.user", user: name } });
    }
  },
});

client.on(sdk.MatrixEventEvent.Decrypted, (ev) => {
  if (ev.getSender() !== ghost) return;
  if (ev.isDecryptionFailure()) {
    say({ event: "undecryptable", reason: ev.decryptionFailureReason });
    return;
  }
  const body = ev.getContent().body;
  say({ event: "decrypted", type: ev.getType(), body });
  if (body === expect) process.exit(0);
});

await new Promise((resolve) => {
  client.once(sdk.ClientEvent.Sync, (state) => state === "PREPARED" && resolve());
  client.startClient({ initialSyncLimit: 0 });
});

const { room_id: roomId } = await client.createRoom({
  is_direct: true, invite: [ghost], preset: "trusted_private_chat",
  initial_state: [{ type: "m.room.encryption", state_key: "",
                    content: { algorithm: "m.megolm.v1.aes-sha2" } }],
});
say({ event: "ready", room: roomId });

// Asked of the server: the client's own view follows its sync.
const joined = async () =>
  ghost in ((await client.getJoinedRoomMembers(roomId)).joined ?? {});
for (let i = 0; !(await joined()); i++) {
  if (i > 300) fail("the ghost never joined");
  await new Promise((r) => setTimeout(r, 100));
}
// The client encrypts to the members it knows: wait until its sync has
// the ghost as a member too.
for (let i = 0; client.getRoom(roomId)?.getMember(ghost)?.membership !== "join"; i++) {
  if (i > 300) fail(`the client never saw the ghost join (it sees ${client.getRoom(roomId)?.getMember(ghost)?.membership})`);
  await new Promise((r) => setTimeout(r, 100));
}

const devices = (await crypto.getUserDeviceInfo([ghost], true)).get(ghost);
const status = {};
for (const id of devices?.keys() ?? []) {
  const s = await crypto.getDeviceVerificationStatus(ghost, id);
  status[id] = { signedByOwner: s?.signedByOwner ?? false };
}
say({ event: "devices", devices: status });

try {
  const sent = await client.sendTextMessage(roomId, send);
  say({ event: "sent", event_id: sent.event_id });
} catch (e) {
  fail(`sending: ${e.message}`);
}
