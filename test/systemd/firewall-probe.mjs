// Connect to each probe {host, port, from} with a short timeout and print the results as JSON, one of
// "open" (the server answered), "refused", "timeout" or another error code. Run inside a test namespace.
import { connect } from 'node:net';

const probes = JSON.parse(process.argv[2]);
const one = (p) =>
  new Promise((resolve) => {
    const s = connect({ host: p.host, port: p.port, localAddress: p.from, timeout: 1000 });
    s.once('data', () => {
      s.destroy();
      resolve('open');
    });
    s.once('timeout', () => {
      s.destroy();
      resolve('timeout');
    });
    s.once('error', (e) => resolve(e.code === 'ECONNREFUSED' ? 'refused' : String(e.code)));
  });
console.log(JSON.stringify(await Promise.all(probes.map(one))));
