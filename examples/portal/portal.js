// The portal's side: react to what the elements report (here, a line log).
const log = document.getElementById('log');

function line(text, kind) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  li.dataset.kind = kind;
  log.prepend(li);
  while (log.children.length > 50) log.lastChild.remove();
}

let lastLabel = '';
document.getElementById('camera').addEventListener('result', (e) => {
  const top = e.detail.results[0];
  const label = top ? top.label : 'nothing';
  if (label !== lastLabel) line(`part check: ${label} (${e.detail.latencyMs.toFixed(0)} ms)`, 'result');
  lastLabel = label;
  document.body.dataset.lastResult = label;
});
document.getElementById('voice').addEventListener('command', (e) => {
  line(`voice: ${e.detail.command} (${Math.round(e.detail.confidence * 100)}%)`, 'command');
  document.body.dataset.lastCommand = e.detail.command;
});
for (const id of ['camera', 'voice']) {
  document.getElementById(id).addEventListener('error', (e) => line(`${id}: ${e.detail.code} ${e.detail.message}`, 'error'));
}
