// Sends one POST with Node's own http2 client and prints the answer as JSON.
// usage: node node_h2_client.js <url> <ca.pem | -> <body> [header=value ...]
const http2 = require("http2");
const fs = require("fs");

const [url, caPath, body, ...headerArgs] = process.argv.slice(2);
const options = caPath === "-" ? {} : { ca: fs.readFileSync(caPath) };
const session = http2.connect(url, options);
session.on("error", (err) => {
  console.error(err.message);
  process.exit(2);
});
const headers = { ":method": "POST", ":path": new URL(url).pathname };
for (const arg of headerArgs) {
  const at = arg.indexOf("=");
  headers[arg.slice(0, at)] = arg.slice(at + 1);
}
const request = session.request(headers);
let status = 0;
let responseHeaders = {};
const chunks = [];
request.on("response", (h) => {
  status = h[":status"];
  responseHeaders = h;
});
request.on("data", (chunk) => chunks.push(chunk));
request.on("end", () => {
  console.log(
    JSON.stringify({
      status,
      headers: responseHeaders,
      body: Buffer.concat(chunks).toString(),
      alpn: session.alpnProtocol || null,
    })
  );
  session.close();
});
request.end(body);
