// Preloaded (NODE_OPTIONS=--import) into a worker process a chaos test starts: sends fal's
// queue host to the test's local stand-in (FAL_STANDIN_URL) with msw, the way the unit tests
// mock fal; every other request goes out untouched.
import { setupServer } from "msw/node";
import { http, passthrough } from "msw";

const standIn = process.env.FAL_STANDIN_URL;
const server = setupServer(
  http.all("https://queue.fal.run/*", async ({ request }) => {
    const url = new URL(request.url);
    const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
    return fetch(`${standIn}${url.pathname}${url.search}`, { method: request.method, headers: request.headers, body });
  }),
  http.all("*", () => passthrough()),
);
server.listen({ onUnhandledRequest: "bypass" });
