import t from 'tap';
import { OutputCap, effectiveOutputCap, outputCutMarker } from '../../agent/output-cap.js';

const b = (s: string): Buffer => Buffer.from(s);
const run = (cap: OutputCap, chunks: string[]): string =>
  chunks.map((c) => {
    const { keep, marker } = cap.take(b(c));
    return keep.toString() + (marker ?? '');
  }).join('');

t.test('output up to the cap is kept whole; exactly the cap is not a cut', async (t) => {
  const cap = new OutputCap(10);
  t.equal(run(cap, ['01234', '56789']), '0123456789');
  t.equal(cap.cut, false);
  t.equal(cap.keptBytes, 10);
  t.equal(run(cap, ['']), '', 'an empty chunk at the cap changes nothing');
  t.equal(cap.cut, false);
});

t.test('the chunk that crosses the cap is split, the marker follows once, the rest is dropped', async (t) => {
  const cap = new OutputCap(8);
  t.equal(run(cap, ['abcde', 'fghij', 'klm']), `abcdefgh${outputCutMarker(8, false)}`);
  t.equal(cap.cut, true);
  t.equal(cap.keptBytes, 8);
  t.equal(run(cap, ['more']), '', 'nothing after the cut');
});

t.test('the marker starts a line of its own, without an empty line when the kept output ends one', async (t) => {
  t.equal(run(new OutputCap(4), ['abc\nde']), 'abc\n[outpost: output cut at 4 bytes; maxOutputBytes]\n');
  t.equal(run(new OutputCap(3), ['abcd']), 'abc\n[outpost: output cut at 3 bytes; maxOutputBytes]\n');
  t.equal(run(new OutputCap(4), ['abc\n', 'x']), 'abc\n[outpost: output cut at 4 bytes; maxOutputBytes]\n', 'across chunks too');
});

t.test('a re-attached job counts what its file already holds', async (t) => {
  const partly = new OutputCap(10, 8, true);
  t.equal(run(partly, ['xyz']), `xy${outputCutMarker(10, false)}`);
  const full = new OutputCap(10, 10 + outputCutMarker(10, true).length);
  t.equal(full.cut, true, 'a file past the cap was cut before');
  t.equal(run(full, ['abc']), '');
});

t.test('a job may lower the agent\'s cap, never raise it (a reload that lowers it applies too)', async (t) => {
  t.equal(effectiveOutputCap(undefined, 1000), 1000);
  t.equal(effectiveOutputCap(10, 1000), 10);
  t.equal(effectiveOutputCap(5000, 1000), 1000);
});
