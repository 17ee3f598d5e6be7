// Connect to each probe {host, port, from, send?, timeoutMs?} and print the results as JSON, one of "open" (the
// server answered; `send` is written first when given, for servers that wait for a request), "silent" (a TCP
// connection was made but nothing came back), "refused", "timeout" (no connection at all) or another error code.
// Run inside a test namespace.
import { connect } from 'node:net';

const probes = JSON.parse(process.argv[2]);
const one = (p) =>
  new Promise((resolve) => {
    let connected = false;
    const s = connect({ host: p.host, port: p.port, localAddress: p.from });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(connected ? 'silent' : 'timeout');
    }, p.timeoutMs ?? 1000);
    s.once('connect', () => {
      connected = true;
      if (p.send) s.write(p.send);
    });
    s.once('data', () => {
      clearTimeout(timer);
      s.destroy();
      resolve('open');
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      resolve(e.code === 'ECONNREFUSED' ? 'refused' : String(e.code));
    });
  });
console.log(JSON.stringify(await Promise.all(probes.map(one))));
