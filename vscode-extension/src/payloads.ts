/**
 * Payloads as the user sees them: one line to list, the text to copy, a document to open.
 * Pure functions (no vscode import). A payload never holds a secret: credentials are names.
 */

import { Payload } from './wire';
import { lowerFirst } from './words';

function json(value: unknown): string {
    return JSON.stringify(value ?? null, null, 2);
}

function credential(value: unknown): string | undefined {
    if (value && typeof value === 'object' && typeof (value as { credential?: unknown }).credential === 'string') {
        return `<credential ${(value as { credential: string }).credential}>`;
    }
    return undefined;
}

/** "Slack: session started" — what a list or a message calls a payload. */
export function payloadLabel(p: Payload): string {
    return `${integrationName(p.integration)}: ${plainTitle(p)}`;
}

/** What "Copy" puts on the clipboard: the statement, query, request or file content. */
export function payloadText(p: Payload): string {
    switch (p.kind) {
        case 'cypher':
            return `${String(p.statement ?? '')}\n\n// parameters\n${json(p.parameters ?? {})}\n`;
        case 'graphql':
            return `${String(p.query ?? '')}\n\n# variables\n${json(p.variables ?? {})}\n`;
        case 'http': {
            const url = typeof p.url === 'string' ? p.url : (credential(p.url) ?? '');
            const auth = credential(p.auth);
            return `${String(p.method ?? 'POST')} ${url}${auth ? `\n# auth: ${auth}` : ''}\n\n${json(p.json)}\n`;
        }
        case 'file':
            return String(p.content ?? '');
        default:
            return `${json(p)}\n`;
    }
}

/** Per payload kind: the Markdown fence language and the file extension of its document. */
const FORMATS: Record<string, { language: string; extension: string }> = {
    cypher: { language: 'cypher', extension: 'cypher' },
    graphql: { language: 'graphql', extension: 'graphql' },
    http: { language: 'http', extension: 'http' },
    file: { language: 'markdown', extension: 'md' },
};
const JSON_FORMAT = { language: 'json', extension: 'json' };

/** Markdown code-fence language for a payload. */
export function payloadLanguage(p: Payload): string {
    return (FORMATS[p.kind] ?? JSON_FORMAT).language;
}

/** File extension of a payload's document: the editor picks the language from it. */
export function payloadExtension(p: Payload): string {
    return (FORMATS[p.kind] ?? JSON_FORMAT).extension;
}

/** One Markdown document listing payloads (what "Open" shows). */
export function payloadsDocument(payloads: Payload[]): string {
    const parts: string[] = [];
    for (const p of payloads) {
        const where = p.kind === 'file' && typeof p.path === 'string' ? ` → \`${p.path}\`` : '';
        parts.push(`## ${p.title}\n`);
        parts.push(`${p.integration} · ${p.kind}${p.hook ? ` · ${p.hook}` : ''}${p.status ? ` · ${p.status}` : ''}${where} · id \`${p.id}\`\n`);
        const fence = payloadText(p).includes('```') ? '~~~~' : '```';
        parts.push(`${fence}${payloadLanguage(p)}\n${payloadText(p).replace(/\n$/, '')}\n${fence}\n`);
    }
    return parts.join('\n');
}

/** Payloads from a notification or a listPayloads result: `{payloads: [...]}` or a list. */
export function payloadsFrom(raw: unknown): Payload[] {
    const list = Array.isArray(raw)
        ? raw
        : raw && typeof raw === 'object' && Array.isArray((raw as { payloads?: unknown }).payloads)
          ? (raw as { payloads: unknown[] }).payloads
          : [];
    return list.filter(
        (p): p is Payload =>
            !!p &&
            typeof p === 'object' &&
            typeof (p as Payload).id === 'string' &&
            typeof (p as Payload).kind === 'string',
    );
}

/** "obsidian" -> "Obsidian", "neo4j" -> "Neo4j", "github" -> "GitHub". */
export function integrationName(name: string): string {
    const known: Record<string, string> = { github: 'GitHub', neo4j: 'Neo4j', falkordb: 'FalkorDB', jira: 'Jira' };
    return known[name.toLowerCase()] ?? (name ? name[0].toUpperCase() + name.slice(1) : name);
}

/** A payload's title in plain words: no record ids, no repeated integration prefix. */
export function plainTitle(p: Payload): string {
    // The name is data (a folder's config names its integrations): matched literally.
    const name = integrationName(p.integration).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    let title = p.title.replace(new RegExp(`^${name}(:\\s*|\\s+)`, 'i'), '');
    title = title
        .replace(/\s*\b(?:upd|dec|blk|ent|pay|evt)-[0-9a-f]{4,}\b/gi, '')
        .replace(/\s*\bfor session msp-[\w-]+/gi, '')
        .replace(/\bsession msp-[\w-]+/gi, 'session')
        .replace(/\s+/g, ' ')
        .trim();
    return title ? lowerFirst(title) : p.kind;
}

/**
 * The notification after an event, in plain words: "Obsidian: daily note section ready", or
 * "3 payloads ready — Obsidian: …; Neo4j: …" (the buttons say Copy · Open · Send).
 */
export function payloadsMessage(payloads: Payload[]): string {
    const n = payloads.length;
    if (n === 1) {
        return `${payloadLabel(payloads[0])} ready`;
    }
    const what = payloads.slice(0, 3).map(payloadLabel).join('; ');
    return `${n} payloads ready — ${what}${n > 3 ? `; and ${n - 3} more` : ''}`;
}
