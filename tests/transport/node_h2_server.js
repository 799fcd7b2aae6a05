// A test HTTP/2 server on Node's own `http2` module (nghttp2 underneath).
// Usage: node node_h2_server.js '{"tls": false, "settings": {...}, "key": path, "cert": path}'
// Prints "PORT <n>" once listening on 127.0.0.1. Behaviour is chosen by the request path.
"use strict";
const fs = require("fs");
const http2 = require("http2");

const options = JSON.parse(process.argv[2] || "{}");
const held = []; // streams answered later by /release, /goaway or /close
let counter = 0;

function answer(stream, status, headers, body) {
  if (stream.destroyed || stream.closed) return;
  stream.respond({ ":status": status, ...headers }, { endStream: body === undefined });
  if (body !== undefined) stream.end(body);
}

function readBody(stream, done) {
  const chunks = [];
  stream.on("data", (chunk) => chunks.push(chunk));
  stream.on("end", () => done(Buffer.concat(chunks)));
}

const routes = {
  "/apns": (stream) => {
    counter += 1;
    stream.on("data", () => {});
    stream.on("end", () => answer(stream, 200, { "apns-id": `id-${counter}` }));
  },
  "/echo": (stream, headers, query) =>
    readBody(stream, (body) => {
      const info = { method: headers[":method"], path: headers[":path"], headers, length: body.length,
        // A stream the client cancelled has no session left: answer() then skips it.
        session: stream.session ? stream.session.testId : null, stream: stream.id };
      answer(stream, Number(query.get("status") || 200), { "content-type": "application/json" },
        JSON.stringify(info));
    }),
  "/echo-body": (stream) => readBody(stream, (body) => answer(stream, 200, {}, body)),
  "/big-headers": (stream, headers, query) =>
    readBody(stream, () => answer(stream, 200, { "x-big": "b".repeat(Number(query.get("size"))) })),
  "/rst": (stream, headers, query) => stream.close(Number(query.get("code"))),
  "/hold": (stream) => { stream.on("data", () => {}); held.push(stream); },
  "/hold-then-raise": (stream, headers, query) => {
    stream.on("data", () => {});
    held.push(stream);
    setTimeout(() => stream.session.settings(JSON.parse(query.get("s"))), Number(query.get("ms")));
  },
  "/never": (stream) => stream.on("data", () => {}),
  "/release": (stream) => {
    readBody(stream, () => {
      for (const s of held.splice(0)) answer(s, 200, { "x-stream": String(s.id) });
      answer(stream, 200, {});
    });
  },
  "/goaway": (stream, headers, query) => {
    // GOAWAY naming `last` as the last processed stream; held streams up to it are answered.
    const last = Number(query.get("last"));
    stream.session.goaway(0, last);
    for (const s of held.splice(0)) if (s.id <= last) answer(s, 200, { "x-stream": String(s.id) });
  },
  "/hold-then-goaway": (stream, headers, query) => {
    routes["/hold"](stream);
    setTimeout(() => routes["/goaway"](stream, headers, query), Number(query.get("ms")));
  },
  "/close": (stream) => stream.session.destroy(),
  "/settings": (stream, headers, query) => {
    stream.session.settings(JSON.parse(query.get("s")));
    readBody(stream, () => answer(stream, 200, {}));
  },
  "/ping": (stream) => {
    stream.session.ping(Buffer.from("pushgate"), (err, duration, payload) =>
      answer(stream, 200, { "x-ping": err ? "error" : payload.toString() }));
  },
};

function onStream(stream, headers) {
  const url = new URL(headers[":path"], "http://localhost");
  const route = routes[url.pathname] || routes["/echo"];
  stream.on("error", () => {});
  route(stream, headers, url.searchParams);
}

const serverOptions = { settings: options.settings || {}, maxSessionMemory: 100 };
const server = options.tls
  ? http2.createSecureServer({ ...serverOptions, key: fs.readFileSync(options.key),
      cert: fs.readFileSync(options.cert), allowHTTP1: false })
  : http2.createServer(serverOptions);
let sessions = 0;
server.on("session", (session) => { sessions += 1; session.testId = sessions; });
server.on("stream", onStream);
server.on("sessionError", () => {});
server.listen(options.port || 0, "127.0.0.1", () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});
