/**
 * Tries one unpackage call per target and prints, as JSON, the code each gave ("ok" or an error code).
 * Usage: node --import tsx probe-child.ts URL[@LOCAL_ADDRESS] ...
 */
import { isOnepadError } from '../../device/errors.js';
import { LinkClient } from '../../rpc/client.js';

const results: Record<string, string> = {};
for (const target of process.argv.slice(2)) {
  const [url, localAddress] = target.split('@') as [string, string | undefined];
  try {
    await new LinkClient({ url, timeoutMs: 3000, ...(localAddress ? { localAddress } : {}) }).unpackage('AAAA');
    results[target] = 'ok';
  } catch (e) {
    results[target] = isOnepadError(e) ? `${e.code}${e.details.reason ? `:${e.details.reason}` : ''}` : 'other';
  }
}
process.stdout.write(`${JSON.stringify(results)}\n`);
