// Follows a session's document with the npm graphql-ws client, the way a
// browser app would, and prints one JSON line per event it receives.
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

let received = 0;
try {
  await new Promise((resolve, reject) => {
    client.subscribe(
      { query },
      {
        next: (result) => {
          console.log(JSON.stringify(result));
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
