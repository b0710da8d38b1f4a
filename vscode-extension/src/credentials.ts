/**
 * Set Credential: the secret goes to `msp credentials set NAME` on stdin. It never travels over
 * LSP, never appears in argv, and is never logged (nor is the CLI's output echoed unscrubbed).
 */

import { cliFailure, runCli } from './cli';

/** Credential names the built-in integrations use (docs/adapters). */
export const KNOWN_CREDENTIALS = ['linear-api-key', 'slack-webhook', 'jira-api-token', 'neo4j-password'];

export interface CliResult {
    ok: boolean;
    /** For the user: never contains the secret. */
    message: string;
    /** The CLI has no `credentials` command (an older msp). */
    unsupported: boolean;
}

/** Replace every occurrence of the secret (and long fragments of it) with ***. */
export function scrub(text: string, secret: string): string {
    if (!secret) {
        return text;
    }
    let out = text.split(secret).join('***');
    const trimmed = secret.trim();
    if (trimmed && trimmed !== secret) {
        out = out.split(trimmed).join('***');
    }
    return out;
}

export async function setCredential(
    cli: { command: string; args: string[] },
    name: string,
    secret: string,
    options: { cwd?: string; workspace?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
    const where = options.workspace ? ['--workspace', options.workspace] : [];
    const run = await runCli(cli, [...where, 'credentials', 'set', name], {
        cwd: options.cwd,
        timeoutMs: options.timeoutMs,
        input: secret.endsWith('\n') ? secret : `${secret}\n`,
    });
    if (run.timedOut) {
        return { ok: false, message: `\`msp credentials set\` did not finish in time`, unsupported: false };
    }
    const output = scrub(`${run.stderr}\n${run.stdout}`, secret).trim();
    if (run.code === 0) {
        return { ok: true, message: output, unsupported: false };
    }
    const unsupported = /invalid choice: ['"]?credentials/.test(output);
    return { ok: false, message: cliFailure({ ...run, stderr: output }), unsupported };
}
