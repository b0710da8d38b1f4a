import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { scrub, setCredential } from '../src/credentials';

/** A stand-in `msp` (node script) that records its argv and stdin, and answers like the CLI. */
function fakeCli(behaviour: 'ok' | 'echo-secret' | 'old'): { cli: { command: string; args: string[] }; record: string } {
    const dir = mkdtempSync(join(tmpdir(), 'msp-cred-'));
    const record = join(dir, 'record.json');
    const script = join(dir, 'msp.js');
    writeFileSync(
        script,
        `
const fs = require('fs');
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
    fs.writeFileSync(${JSON.stringify(record)}, JSON.stringify({ argv: process.argv.slice(2), stdin: input }));
    const mode = ${JSON.stringify(behaviour)};
    if (mode === 'old') {
        process.stderr.write("usage: msp ...\\nmsp: error: argument COMMAND: invalid choice: 'credentials'\\n");
        process.exit(64);
    }
    if (mode === 'echo-secret') {
        process.stderr.write('msp: keyring refused the value ' + input.trim() + '\\n');
        process.exit(4);
    }
    process.stderr.write('stored\\n');
});
`,
    );
    return { cli: { command: process.execPath, args: [script] }, record };
}

describe('Set Credential runs `msp credentials set NAME` with the secret on stdin', () => {
    it('never puts the secret on the command line', async () => {
        const { cli, record } = fakeCli('ok');
        const result = await setCredential(cli, 'linear-api-key', 'lin_api_s3cr3t');
        assert.equal(result.ok, true);
        const seen = JSON.parse(readFileSync(record, 'utf8')) as { argv: string[]; stdin: string };
        assert.deepEqual(seen.argv, ['credentials', 'set', 'linear-api-key']);
        assert.equal(seen.stdin, 'lin_api_s3cr3t\n');
    });

    it('scrubs the secret from anything it reports', async () => {
        const { cli } = fakeCli('echo-secret');
        const result = await setCredential(cli, 'jira-api-token', 'tok-123456');
        assert.equal(result.ok, false);
        assert.equal(result.message, 'keyring refused the value ***');
        assert.ok(!result.message.includes('tok-123456'));
        assert.equal(scrub('a tok b tok', 'tok'), 'a *** b ***');
    });

    it('recognises an msp without the credentials command', async () => {
        const { cli } = fakeCli('old');
        const result = await setCredential(cli, 'slack-webhook', 'https://hooks.example.invalid/x');
        assert.deepEqual([result.ok, result.unsupported], [false, true]);
    });

    it('reports a CLI that cannot be run', async () => {
        const result = await setCredential({ command: '/nonexistent/msp', args: [] }, 'x', 'y');
        assert.equal(result.ok, false);
        assert.match(result.message, /cannot run \/nonexistent\/msp/);
    });
});
