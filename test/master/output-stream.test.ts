import t from 'tap';
import { OutputCursor, LineSplitter, prefixLine, stripControl } from '../../master/output-stream.js';

t.test('the cursor never delivers a byte twice and refuses gaps', async (t) => {
  const c = new OutputCursor();
  t.equal(c.accept(0, Buffer.from('hello ')).toString(), 'hello ');
  t.equal(c.offset, 6);
  // A resumed connection that re-sends from an earlier offset: only the new part comes through.
  t.equal(c.accept(3, Buffer.from('lo world')).toString(), 'world');
  t.equal(c.offset, 11);
  t.equal(c.accept(5, Buffer.from('abc')).length, 0, 'entirely old data is dropped');
  t.throws(() => c.accept(20, Buffer.from('x')), { code: 'MASTER_OUTPUT_INTERRUPTED', message: /gap/ });
  t.equal(c.offset, 11, 'a refused chunk does not move the cursor');
  t.equal(new OutputCursor(100).offset, 100, 'resumes from a given offset');
});

t.test('lines are split on newlines, across chunks, keeping UTF-8 intact', async (t) => {
  const s = new LineSplitter();
  const euro = Buffer.from('€');
  t.same(s.push(Buffer.from('one\ntw')), ['one']);
  t.same(s.push(Buffer.concat([Buffer.from('o '), euro.subarray(0, 1)])), []);
  t.same(s.push(Buffer.concat([euro.subarray(1), Buffer.from('\r\nthree')])), ['two €']);
  t.same(s.flush(), ['three']);
  t.same(s.flush(), []);
  const big = new LineSplitter();
  t.equal(big.push(Buffer.alloc(70 * 1024, 0x61)).length, 1, 'a huge partial line is released');
});

t.test('host prefixes are aligned and control sequences cannot reach the terminal', async (t) => {
  t.equal(prefixLine('web01', 'hi', 6), '[web01]  hi');
  t.equal(prefixLine('a', 'x', 1), '[a] x');
  t.equal(stripControl('\u001b[2J\u001b]0;title\u0007ok\tdone\u0007'), 'ok\tdone');
  t.equal(prefixLine('h', 'x', 1, (s) => `<${s}>`), '<[h]> x');
});
