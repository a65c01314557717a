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

t.test('C1 controls (8-bit CSI, OSC, DCS, …) cannot reach the terminal either', async (t) => {
  // A UTF-8 terminal (xterm, VTE, kitty) acts on U+0080–U+009F as it does on their ESC forms.
  t.equal(stripControl('\u009b2J\u009b?1049hok'), 'ok', 'CSI U+009B with its parameters');
  t.equal(stripControl('\u009d0;owned\u0007a\u009d8;;http://x/\u009cb'), 'ab', 'OSC U+009D up to BEL or ST U+009C');
  t.equal(stripControl('\u0090q#0;2;0;0;0\u009cc\u009e..\u009cd\u009f..\u009ce\u0098..\u009cf'), 'cdef', 'DCS, PM, APC and SOS strings');
  t.equal(stripControl('x\u0085y\u008dz\u0080\u0084w'), 'xyzw', 'lone C1 controls (NEL, RI, …)');
  t.equal(stripControl('\u001b[>0c\u001b[<1;2M'), '', 'private CSI parameters are part of the sequence');
  t.equal(stripControl('déjà vu ¡ÿ €'), 'déjà vu ¡ÿ €', 'printable Latin-1 and beyond are kept');
  // The bytes a job writes: C2 9B is U+009B in UTF-8.
  const s = new LineSplitter();
  const [line] = s.push(Buffer.concat([Buffer.from([0xc2, 0x9b]), Buffer.from('31mred'), Buffer.from([0xc2, 0x9d]), Buffer.from('2;pwned'), Buffer.from([0xc2, 0x9c]), Buffer.from('\n')]));
  t.equal(prefixLine('h', line ?? '', 1), '[h] red');
});
