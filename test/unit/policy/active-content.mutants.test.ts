/**
 * Content that runs script in a browser needs a rule naming its type, and downloads of keys
 * that look like it are signed as attachments. Every listed type and extension is pinned here
 * (mutation testing found most of the list unpinned).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hasActiveExtension, isActiveMediaType, mediaTypeOf } from '../../../src/policy/active-content.js';
import { allowed, denied, policyOf, principal, run, writeKey } from './fixtures.js';

const ACTIVE_TYPES = [
  'text/html',
  'application/xhtml+xml',
  'image/svg+xml',
  'text/xml',
  'application/xml',
  'text/xsl',
  'application/xslt+xml',
  'text/javascript',
  'application/javascript',
  'application/x-javascript',
  'text/ecmascript',
  'application/ecmascript',
  'application/x-shockwave-flash',
  'multipart/x-mixed-replace',
  'message/rfc822',
  'application/x-mimearchive',
];
const alice = principal({ sub: 'alice' });
const upload = (contentType: string): ReturnType<typeof writeKey> => writeKey('media/a', { contentType, contentLength: 1 });

describe('uploads of content that runs script', () => {
  const broad = policyOf([
    { id: 'anything', actions: ['write'], resources: ['media/*'] },
    { id: 'wide-ranges', actions: ['write'], resources: ['media/*'], limits: { contentTypes: ['text/*', 'image/*', 'application/*'] } },
  ]);

  for (const type of ACTIVE_TYPES) {
    test(`${type}: refused by a rule with no type list or only ranges, allowed by a rule that names it`, () => {
      assert.equal(isActiveMediaType(type), true);
      const refusal = denied(run({ policy: broad, who: alice, ask: upload(type) }));
      assert.equal(refusal.code, 'BROKER_LIMIT_EXCEEDED');
      assert.equal(
        refusal.reason,
        `rule "anything": content type "${type}" runs script in browsers; only a rule whose contentTypes name "${type}" itself may allow it`,
      );
      const naming = policyOf([{ id: 'names-it', actions: ['write'], resources: ['media/*'], limits: { contentTypes: [type] } }]);
      allowed(run({ policy: naming, who: alice, ask: upload(type) }));
    });
  }

  test('any "+xml" type counts, whatever its case and parameters', () => {
    for (const type of ['application/atom+xml', 'Application/RSS+XML; charset=utf-8', ' text/html ; charset=utf-8']) {
      assert.equal(isActiveMediaType(type), true, type);
      denied(run({ policy: broad, who: alice, ask: upload(type) }));
    }
  });

  test('the media type is compared lower-cased and without parameters or surrounding spaces', () => {
    assert.equal(mediaTypeOf(' Text/HTML ; charset=utf-8'), 'text/html');
    const naming = policyOf([{ id: 'html', actions: ['write'], resources: ['media/*'], limits: { contentTypes: ['text/html'] } }]);
    allowed(run({ policy: naming, who: alice, ask: upload(' Text/HTML ; charset=utf-8') }));
  });

  test('ordinary types are not active', () => {
    for (const type of ['text/plain', 'image/png', 'application/json', 'application/pdf', 'video/mp4', 'text/csv', 'application/xml-dtd']) {
      assert.equal(isActiveMediaType(type), false, type);
      allowed(run({ policy: broad, who: alice, ask: upload(type) }));
    }
  });
});

describe('keys that look like active content', () => {
  const EXTENSIONS = ['htm', 'html', 'shtml', 'xhtm', 'xhtml', 'xht', 'mht', 'mhtml', 'svg', 'svgz', 'xml', 'xsl', 'xslt'];
  EXTENSIONS.push('js', 'mjs', 'cjs', 'swf', 'hta');

  for (const extension of EXTENSIONS) {
    test(`".${extension}" (any case) is active`, () => {
      assert.equal(hasActiveExtension(`uploads/alice/page.${extension}`), true);
      assert.equal(hasActiveExtension(`uploads/alice/PAGE.${extension.toUpperCase()}`), true);
    });
  }

  test('only a whole final extension counts', () => {
    for (const key of [
      'uploads/alice/page.html.txt',
      'uploads/alice/html',
      'uploads/alice/pagehtml',
      'uploads/alice/a.json',
      'x.jsx',
      'x.svgs',
    ]) {
      assert.equal(hasActiveExtension(key), false, key);
    }
  });
});
