import t from 'tap';
import { createMask, emitFromWindow, maskSecrets, windowFor, type OutputMask } from '../../agent/output-mask.js';

/** Reads `file` the way the output stream does, in windows of `chunk` bytes, and returns what is emitted. */
function readAll(file: Buffer, mask: OutputMask, chunk: number, complete: boolean): Buffer {
  const parts: Buffer[] = [];
  let position = 0;
  for (;;) {
    const { start, length } = windowFor(position, chunk, mask);
    const window = file.subarray(start, start + length);
    const out = emitFromWindow(window, start, position, length, mask, complete);
    if (out.length === 0) break;
    parts.push(out);
    position += out.length;
  }
  return Buffer.concat(parts);
}

t.test('ok: every occurrence is replaced by as many stars, overlapping ones too', async (t) => {
  const mask = createMask(['hunter2', 'abab']) as OutputMask;
  t.equal(maskSecrets(Buffer.from('pw=hunter2\nhunter2hunter2 ababab x'), mask).toString(), 'pw=*******\n************** ****** x');
  t.equal(mask.margin, 6);
});

t.test('ok: no mask without non-empty values', async (t) => {
  t.equal(createMask([]), null);
  t.equal(createMask(['']), null);
});

t.test('ok: windowed reads give the same bytes as masking the whole file, whatever the window size', async (t) => {
  const secrets = ['s3cr3t', 'pa55word-long-one', 'é€ü'];
  const mask = createMask(secrets) as OutputMask;
  let text = '';
  for (let i = 0; i < 300; i++) text += i % 7 === 0 ? secrets[i % 3] : `line ${i} `;
  const file = Buffer.from(text);
  const whole = maskSecrets(file, mask);
  for (const chunk of [1, 2, 3, 5, 16, 17, 64, 1000, 1 << 20]) {
    t.same(readAll(file, mask, chunk, true), whole, `chunk ${chunk}`);
  }
  t.notOk(whole.includes('s3cr3t'));
});

t.test('ok: a file that may still grow keeps back a possible secret prefix', async (t) => {
  const mask = createMask(['hunter2']) as OutputMask;
  const partial = Buffer.from('password: hunt');
  const shown = readAll(partial, mask, 4, false);
  t.equal(shown.toString(), 'password');
  t.notMatch(shown.toString(), /hunt/);
  t.equal(readAll(partial, mask, 4, true).toString(), 'password: hunt', 'once complete, the rest is shown');
  t.equal(readAll(Buffer.from('password: hunter2 ok'), mask, 4, false).toString(), 'password: ****', 'held back only at the end');
});
