// `node generated/js/run.js <base URL> <email> <ISO start>`: books a visit for real (the
// test runs it against a test instance after tsc compiles it).
import { bookAVisit } from "./book.js";

const [baseUrl, email, when] = process.argv.slice(2);
if (!baseUrl || !email || !when) {
  console.error("usage: run.js <base URL> <email> <ISO start>");
  process.exit(2);
}
const booking = await bookAVisit(baseUrl, email, new Date(when));
console.log(JSON.stringify({ id: booking.request.id, state: booking.request.state, total: booking.total }));
