/**
 * The simulator page: both devices' screens side by side, live (server-sent events announce each new frame), and
 * pointer input on each screen forwarded as touches (press, move, release), so Approve can be held.
 */
export function simulatorPage(devices: readonly string[]): string {
  const panels = devices
    .map(
      (d) => `
  <section class="device" data-device="${d}">
    <h2>${d} <span class="insecure">simulated, INSECURE</span></h2>
    <img id="screen-${d}" data-device="${d}" alt="${d}'s screen" draggable="false">
  </section>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>onepad simulator</title>
<style>
  body { font-family: sans-serif; background: #1d1f21; color: #eee; margin: 1em; }
  main { display: flex; gap: 2em; flex-wrap: wrap; }
  .device { flex: 1 1 0; min-width: 320px; max-width: 824px; }
  .device img { display: block; width: 100%; box-sizing: border-box; border: 12px solid #000; border-radius: 8px; touch-action: none; cursor: pointer; user-select: none; }
  .insecure { color: #ff5f5f; font-size: 0.7em; }
  p { color: #aaa; max-width: 60em; }
</style>
</head>
<body>
<h1>onepad simulator</h1>
<p>Two simulated pad devices, paired with a seeded (INSECURE) pad. Each screen is the device's own: press and
hold Approve to approve, tap Deny to refuse. Run the chat commands printed in the terminal to send messages.</p>
<main>${panels}
</main>
<script>
for (const img of document.querySelectorAll('img[data-device]')) {
  const dev = img.dataset.device;
  const events = new EventSource('/api/' + dev + '/events');
  events.onmessage = (e) => { img.src = '/api/' + dev + '/frame.png?n=' + e.data; };
  let down = false;
  const send = (phase, e) => {
    const r = img.getBoundingClientRect();
    const x = Math.round(((e.clientX - r.left - img.clientLeft) / img.clientWidth) * img.naturalWidth);
    const y = Math.round(((e.clientY - r.top - img.clientTop) / img.clientHeight) * img.naturalHeight);
    fetch('/api/' + dev + '/input', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phase, x, y }) });
  };
  img.addEventListener('pointerdown', (e) => { down = true; img.setPointerCapture(e.pointerId); send('down', e); e.preventDefault(); });
  img.addEventListener('pointermove', (e) => { if (down) send('move', e); });
  img.addEventListener('pointerup', (e) => { if (down) { down = false; send('up', e); } });
  img.addEventListener('pointercancel', (e) => { if (down) { down = false; send('up', e); } });
}
</script>
</body>
</html>
`;
}
