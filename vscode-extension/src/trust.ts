/**
 * MSP: Trust Folder Configuration. A folder's `.msp/config.json` arrives with `git clone`; the
 * keys that load code, choose where data or credentials go, or where files are written take
 * effect only once the user trusted that exact file (`msp trust`). This module reads the CLI's
 * `trust --show --json` / `trust --json` answers (run through cli.ts) and words what the user is
 * asked. No vscode import.
 */

import type { CliRun } from './cli';

/** `msp --workspace DIR trust [--show] --json`. */
export interface FolderTrust {
    folder: string;
    configPath: string;
    exists: boolean;
    trusted: boolean;
    sha256: string | null;
    /** The keys the folder config sets that take effect only once trusted. */
    needsTrust: { key: string; value: unknown }[];
}

function isObject(value: unknown): value is Record<string, unknown> {
    return !!value && typeof value === 'object' && !Array.isArray(value);
}

/** The CLI's JSON, checked field by field; undefined when it is not that shape. */
export function parseFolderTrust(stdout: string): FolderTrust | undefined {
    let raw: unknown;
    try {
        raw = JSON.parse(stdout);
    } catch {
        return undefined;
    }
    if (
        !isObject(raw) ||
        typeof raw.folder !== 'string' ||
        typeof raw.configPath !== 'string' ||
        typeof raw.exists !== 'boolean' ||
        typeof raw.trusted !== 'boolean' ||
        !(raw.sha256 === null || typeof raw.sha256 === 'string') ||
        !Array.isArray(raw.needsTrust)
    ) {
        return undefined;
    }
    const needsTrust = raw.needsTrust.filter(
        (item): item is { key: string; value: unknown } => isObject(item) && typeof item.key === 'string',
    );
    return {
        folder: raw.folder,
        configPath: raw.configPath,
        exists: raw.exists,
        trusted: raw.trusted,
        sha256: raw.sha256,
        needsTrust: needsTrust.map((item) => ({ key: item.key, value: item.value })),
    };
}

const MAX_VALUE_CHARS = 200;

/** A value as JSON on one line, cut with an ellipsis (a modal is no place for 10 KB). */
export function formatValue(value: unknown): string {
    let text: string;
    try {
        text = JSON.stringify(value) ?? String(value);
    } catch {
        text = String(value);
    }
    // Control characters could fake lines in the dialog: show them escaped.
    text = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

/** The modal's detail: exactly what trusting this file would enable, one key per line. */
export function trustDetail(trust: FolderTrust): string {
    const lines = trust.needsTrust.map((item) => `• ${item.key} = ${formatValue(item.value)}`);
    return (
        `${trust.configPath}${trust.sha256 ? ` (sha256 ${trust.sha256.slice(0, 12)}…)` : ''} would enable:\n\n` +
        `${lines.join('\n')}\n\n` +
        'These keys load code, choose where your data and credentials are sent, or where files are ' +
        'written. Trust them only if you wrote this file or checked it. Any later edit of the file ' +
        'needs trust again.'
    );
}

/** An `msp` that predates `msp trust`. */
export function trustUnsupported(run: CliRun): boolean {
    return /invalid choice: ['"]?trust/.test(run.stderr);
}
