import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { contentDisposition } from '../../../src/grants/content-disposition.js';

describe('contentDisposition', () => {
  test('the type alone without a filename', () => {
    assert.equal(contentDisposition('inline', undefined), 'inline');
    assert.equal(contentDisposition('attachment', undefined), 'attachment');
  });

  test('a plain name twice: quoted, and as UTF-8', () => {
    assert.equal(contentDisposition('attachment', 'report.pdf'), `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
  });

  test('unicode, quotes and spaces: an ASCII fallback and the exact name in filename*', () => {
    assert.equal(
      contentDisposition('attachment', 'café "Q1" (final)\'s.pdf'),
      `attachment; filename="caf_ _Q1_ (final)'s.pdf"; filename*=UTF-8''caf%C3%A9%20_Q1_%20%28final%29%27s.pdf`,
    );
  });

  test('a path, control and bidi characters are cleaned as upload filenames are; a name cleaned to nothing is left out', () => {
    assert.equal(
      contentDisposition('inline', '../../etc/pass\u202Ewd\r\n.txt'),
      `inline; filename="passwd.txt"; filename*=UTF-8''passwd.txt`,
    );
    assert.equal(contentDisposition('attachment', '..'), 'attachment');
  });
});
