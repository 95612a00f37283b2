// Follows a session's document with the npm graphql-ws client, the way a
// browser app would (the README's example): it keeps its own copy of the
// document, and prints one JSON line per event with the copy after it.
//
//   node follow.mjs WS_URL TOKEN COUNT
//
// TOKEN goes in the connection_init payload as "Authorization: Bearer …" (a
// join token joins the room; a connection token acts as its participant).
// Exits 0 after COUNT events; on a refused or closed socket prints
// {"closed": CODE, "reason": …} and exits 2.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, count] = process.argv.slice(2);
const query = `subscription {
  sessionDataChanged(includeSnapshot: true) { kind revision patch data }
}`;

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
  lazy: false,
  // The subscription's error handler below reports a refused socket.
  onNonLazyError: () => {},
  on: { connected: () => console.log(JSON.stringify({ connected: true })) },
});

// RFC 7386, as in the README: the client keeps its own copy of the document.
const mergePatch = (target, patch) => {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const result =
    target && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
};

let received = 0;
let document = {};
try {
  await new Promise((resolve, reject) => {
    client.subscribe(
      { query },
      {
        next: (result) => {
          const event = result.data?.sessionDataChanged;
          if (event) {
            document =
              event.kind === "SNAPSHOT" ? event.data : mergePatch(document, event.patch);
          }
          console.log(JSON.stringify({ ...result, document }));
          received += 1;
          if (received >= Number(count)) resolve();
        },
        error: reject,
        complete: resolve,
      },
    );
  });
  await client.dispose();
  process.exit(0);
} catch (failure) {
  const code = failure?.code ?? null;
  console.log(JSON.stringify({ closed: code, reason: String(failure?.reason ?? failure) }));
  await client.dispose();
  process.exit(2);
}
