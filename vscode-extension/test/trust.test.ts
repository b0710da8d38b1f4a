import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { formatValue, parseFolderTrust, trustDetail } from '../src/trust';

describe('what the trust dialog shows', () => {
    const shown = {
        folder: '/w/cloned',
        configPath: '/w/cloned/.msp/config.json',
        exists: true,
        trusted: false,
        sha256: '0123456789abcdef'.repeat(4),
        needsTrust: [{ key: 'integrations.custom.module', value: 'evil_adapter' }],
    };

    it('reads the CLI’s JSON and refuses any other shape', () => {
        assert.deepEqual(parseFolderTrust(JSON.stringify(shown)), shown);
        assert.equal(parseFolderTrust('not json'), undefined);
        assert.equal(parseFolderTrust(JSON.stringify({ ...shown, trusted: 'yes' })), undefined);
        assert.equal(parseFolderTrust(JSON.stringify({ ...shown, needsTrust: null })), undefined);
        const odd = parseFolderTrust(JSON.stringify({ ...shown, needsTrust: [{ key: 1 }, { key: 'a.b', value: 2 }] }));
        assert.deepEqual(odd?.needsTrust, [{ key: 'a.b', value: 2 }]);
    });

    it('lists each key with its value, the file and its hash', () => {
        const detail = trustDetail(shown);
        assert.match(detail, /^\/w\/cloned\/\.msp\/config\.json \(sha256 0123456789ab…\) would enable:/);
        assert.match(detail, /• integrations\.custom\.module = "evil_adapter"/);
    });

    it('keeps a value on one line and short: control characters escaped, long values cut', () => {
        assert.equal(formatValue('a\nb\u001b[2J'), '"a\\nb\\u001b[2J"');
        assert.equal(formatValue('x\u2028y'), '"x\\u2028y"');
        const long = formatValue('y'.repeat(500));
        assert.equal(long.length, 200);
        assert.ok(long.endsWith('…'));
        assert.equal(formatValue({ a: [1, true, null] }), '{"a":[1,true,null]}');
    });
});
