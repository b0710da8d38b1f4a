/**
 * The MSP view's Team section as data: the server's `team` answer (msp_server/service/team.py,
 * docs/team.md) turned into nodes and their labels, and the view's message when the answer
 * came from the cache (stale) or could not come at all. No vscode import: unit-tested directly.
 * Everything a teammate wrote comes from a shared graph: it is checked for shape here and shown
 * as plain text (tooltips escape Markdown).
 */

import { formatAgo } from './statusModel';
import type { NodeView } from './treeModel';
import { escapeMd, oneLine, plural } from './words';

export interface TeamSession {
    id: string;
    goal?: string | null;
    branch?: string | null;
    status?: string | null;
    progress?: number | null;
    startTime?: string | null;
    endTime?: string | null;
}

export interface TeamBlocker {
    id: string;
    description: string;
    severity?: string | null;
    category?: string | null;
    createdAt?: string | null;
}

export interface TeamDecision {
    id: string;
    content: string;
    rationale?: string | null;
    impact?: string | null;
    timestamp?: string | null;
}

export interface TeamOverlap {
    path?: string | null;
    name?: string | null;
    type?: string | null;
}

export interface Teammate {
    user: string;
    sessions: TeamSession[];
    openBlockers: TeamBlocker[];
    decisions: TeamDecision[];
    overlap: TeamOverlap[];
}

export interface TeamAnswer {
    project: string;
    days: number;
    graph?: string;
    stale: boolean;
    reason?: string;
    fetchedAt: string | null;
    teammates: Teammate[];
    trustWarning?: string;
}

/** What one folder's Team section holds: an answer, no graph configured, or an error. */
export type TeamState =
    | { kind: 'answer'; answer: TeamAnswer }
    | { kind: 'noGraph'; message: string }
    | { kind: 'error'; message: string };

export type TeamNode =
    | { kind: 'teamFolder'; folderUri: string; name: string }
    | { kind: 'teammate'; folderUri: string; mate: Teammate }
    | { kind: 'teamSession'; folderUri: string; user: string; record: TeamSession }
    | { kind: 'teamBlocker'; folderUri: string; user: string; record: TeamBlocker }
    | { kind: 'teamDecision'; folderUri: string; user: string; record: TeamDecision }
    | { kind: 'teamOverlap'; folderUri: string; user: string; record: TeamOverlap };

/** A Team item's label, icon and tooltip: the same shape as the Session view's items. */
export type TeamNodeView = NodeView;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v : undefined);
const rows = (v: unknown): Record<string, unknown>[] =>
    Array.isArray(v) ? v.filter((r): r is Record<string, unknown> => !!r && typeof r === 'object') : [];

/** A value from the graph as text: strings as they are, numbers written out, else null. */
function text(v: unknown): string | null {
    if (typeof v === 'string') {
        return v.trim() ? v : null;
    }
    return typeof v === 'number' && Number.isFinite(v) ? String(v) : null;
}

function sessionFrom(r: Record<string, unknown>): TeamSession | undefined {
    const id = text(r.id);
    if (!id) {
        return undefined;
    }
    const progress = typeof r.progress === 'number' && Number.isFinite(r.progress) ? r.progress : null;
    return {
        id,
        goal: text(r.goal),
        branch: text(r.branch),
        status: text(r.status),
        progress,
        startTime: text(r.startTime),
        endTime: text(r.endTime),
    };
}

/** A row of text fields: undefined when a `required` one is missing, null for a missing optional. */
function textRecord<T>(
    r: Record<string, unknown>,
    required: readonly (keyof T & string)[],
    optional: readonly (keyof T & string)[],
): T | undefined {
    const out: Record<string, string | null> = {};
    for (const key of required) {
        const value = text(r[key]);
        if (!value) {
            return undefined;
        }
        out[key] = value;
    }
    for (const key of optional) {
        out[key] = text(r[key]);
    }
    return out as T;
}

const blockerFrom = (r: Record<string, unknown>): TeamBlocker | undefined =>
    textRecord<TeamBlocker>(r, ['id', 'description'], ['severity', 'category', 'createdAt']);

const decisionFrom = (r: Record<string, unknown>): TeamDecision | undefined =>
    textRecord<TeamDecision>(r, ['id', 'content'], ['rationale', 'impact', 'timestamp']);

function overlapFrom(r: Record<string, unknown>): TeamOverlap | undefined {
    const path = text(r.path);
    const name = text(r.name);
    return path || name ? { path, name, type: text(r.type) } : undefined;
}

function all<T>(v: unknown, make: (r: Record<string, unknown>) => T | undefined): T[] {
    return rows(v)
        .map(make)
        .filter((x): x is T => x !== undefined);
}

function teammateFrom(raw: Record<string, unknown>): Teammate | undefined {
    const user = str(raw.user);
    if (!user) {
        return undefined;
    }
    return {
        user,
        sessions: all(raw.sessions, sessionFrom),
        openBlockers: all(raw.openBlockers, blockerFrom),
        decisions: all(raw.decisions, decisionFrom),
        overlap: all(raw.overlap, overlapFrom),
    };
}

/** The `team` answer, checked for shape (undefined when it is not one). */
export function parseTeamAnswer(raw: unknown): TeamAnswer | undefined {
    if (!raw || typeof raw !== 'object') {
        return undefined;
    }
    const a = raw as Record<string, unknown>;
    if (!Array.isArray(a.teammates)) {
        return undefined;
    }
    return {
        project: str(a.project) ?? '?',
        days: typeof a.days === 'number' ? a.days : 7,
        graph: str(a.graph),
        stale: a.stale === true,
        reason: str(a.reason),
        fetchedAt: str(a.fetchedAt) ?? null,
        teammates: rows(a.teammates)
            .map(teammateFrom)
            .filter((t): t is Teammate => !!t),
        trustWarning: str(a.trustWarning),
    };
}

/** A folder's nodes: one per teammate. */
export function teammateNodes(folderUri: string, state: TeamState | undefined): TeamNode[] {
    if (state?.kind !== 'answer') {
        return [];
    }
    return state.answer.teammates.map((mate) => ({ kind: 'teammate', folderUri, mate }));
}

/** A teammate's rows: sessions, open blockers, decisions in force, shared files. */
export function teamChildren(node: TeamNode): TeamNode[] {
    if (node.kind !== 'teammate') {
        return [];
    }
    const { folderUri, mate } = node;
    const user = mate.user;
    return [
        ...mate.sessions.map((record): TeamNode => ({ kind: 'teamSession', folderUri, user, record })),
        ...mate.openBlockers.map((record): TeamNode => ({ kind: 'teamBlocker', folderUri, user, record })),
        ...mate.decisions.map((record): TeamNode => ({ kind: 'teamDecision', folderUri, user, record })),
        ...mate.overlap.map((record): TeamNode => ({ kind: 'teamOverlap', folderUri, user, record })),
    ];
}

export function teamNodeId(node: TeamNode): string {
    switch (node.kind) {
        case 'teamFolder':
            return `team:${node.folderUri}`;
        case 'teammate':
            return `team:${node.folderUri}:${node.mate.user}`;
        case 'teamOverlap':
            return `team:${node.folderUri}:${node.user}:file:${node.record.path ?? ''}:${node.record.name ?? ''}`;
        default:
            return `team:${node.folderUri}:${node.user}:${node.record.id}`;
    }
}

function mateSummary(mate: Teammate): string {
    const parts = [plural(mate.sessions.length, 'session')];
    if (mate.openBlockers.length) {
        parts.push(plural(mate.openBlockers.length, 'open blocker'));
    }
    if (mate.decisions.length) {
        parts.push(plural(mate.decisions.length, 'decision'));
    }
    if (mate.overlap.length) {
        parts.push(plural(mate.overlap.length, 'shared file'));
    }
    return parts.join(' · ');
}

function sessionView(s: TeamSession, now: Date): TeamNodeView {
    const active = s.status === 'active';
    const progress = typeof s.progress === 'number' ? `${s.progress}%` : undefined;
    const when = s.startTime ? formatAgo(s.startTime, now) : undefined;
    const bits = [active ? 'active' : s.status ?? undefined, progress, s.branch ?? undefined, when].filter(Boolean);
    return {
        label: oneLine(s.goal ?? s.id),
        description: bits.join(' · '),
        tooltip:
            `**${escapeMd(s.goal ?? 'No goal set')}**\n\n` +
            `${escapeMd(bits.join(' · '))}\n\nSession \`${s.id.replace(/`/g, '')}\``,
        icon: active ? 'play-circle' : 'history',
        context: 'msp.team.session',
        collapsible: false,
    };
}

/** Label, description, tooltip, icon of a Team node (`now` for "2h ago"). */
export function describeTeam(node: TeamNode, now: Date): TeamNodeView {
    switch (node.kind) {
        case 'teamFolder':
            return { label: node.name, icon: 'root-folder', context: 'msp.team.folder', collapsible: true, expanded: true };
        case 'teammate':
            return {
                label: node.mate.user,
                description: mateSummary(node.mate),
                icon: 'person',
                context: 'msp.team.teammate',
                collapsible: true,
                expanded: true,
            };
        case 'teamSession':
            return sessionView(node.record, now);
        case 'teamBlocker': {
            const b = node.record;
            const opened = b.createdAt ? `opened ${formatAgo(b.createdAt, now)}` : undefined;
            const description = [b.severity ?? undefined, b.category ?? undefined, opened].filter(Boolean).join(' · ');
            return {
                label: `Blocked: ${oneLine(b.description)}`,
                description,
                tooltip: `**Open blocker** of ${escapeMd(node.user)}\n\n${escapeMd(b.description)}\n\n${escapeMd(description)}`,
                icon: 'warning',
                context: 'msp.team.blocker',
                collapsible: false,
            };
        }
        case 'teamDecision': {
            const d = node.record;
            const rationale = d.rationale ? `\n\nWhy: ${escapeMd(d.rationale)}` : '';
            return {
                label: `Decided: ${oneLine(d.content)}`,
                description: [d.impact ? `${d.impact} impact` : undefined, d.timestamp ? formatAgo(d.timestamp, now) : undefined]
                    .filter(Boolean)
                    .join(' · '),
                tooltip: `**Decision in force** of ${escapeMd(node.user)}\n\n${escapeMd(d.content)}${rationale}`,
                icon: 'law',
                context: 'msp.team.decision',
                collapsible: false,
            };
        }
        case 'teamOverlap': {
            const o = node.record;
            const what = o.path ?? o.name ?? '?';
            return {
                label: `Also working on ${oneLine(what)}`,
                description: o.path && o.name ? `${o.type ?? 'entity'} ${o.name}` : o.type ?? undefined,
                tooltip: o.path ? `${escapeMd(node.user)} recorded entities in \`${o.path.replace(/`/g, '')}\` too: click to open it.` : undefined,
                icon: o.path ? 'file-code' : 'symbol-misc',
                context: o.path ? 'msp.team.file' : 'msp.team.entity',
                collapsible: false,
            };
        }
    }
}

/** "08:55" in local time (the date too when it is not today). */
export function clockTime(iso: string, now: Date): string {
    const t = new Date(iso);
    if (Number.isNaN(t.getTime())) {
        return iso;
    }
    const pad = (n: number) => String(n).padStart(2, '0');
    const hm = `${pad(t.getHours())}:${pad(t.getMinutes())}`;
    return t.toDateString() === now.toDateString() ? hm : `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${hm}`;
}

export interface TeamBanner {
    /** The tree view's description (next to its title): short. */
    description?: string;
    /** The tree view's message (above the items): why the answer is stale, or what went wrong. */
    message?: string;
}

/** The view's description and message for the folders' states (`names` labels each folder). */
export function teamBanner(states: [name: string, state: TeamState][], now: Date): TeamBanner {
    const lines: string[] = [];
    let stale = false;
    const multi = states.length > 1;
    for (const [name, state] of states) {
        const prefix = multi ? `${name}: ` : '';
        if (state.kind === 'error') {
            lines.push(`${prefix}Team not available: ${state.message}`);
            continue;
        }
        if (state.kind !== 'answer') {
            continue;
        }
        const a = state.answer;
        if (a.stale) {
            stale = true;
            const when = a.fetchedAt
                ? `as fetched at ${clockTime(a.fetchedAt, now)} (${formatAgo(a.fetchedAt, now)})`
                : 'nothing fetched before';
            lines.push(`${prefix}Stale: ${a.reason ?? 'the team graph did not answer'} — showing ${when}.`);
        } else if (a.teammates.length === 0) {
            lines.push(`${prefix}No teammate activity in ${a.project} in the last ${plural(a.days, 'day')}.`);
        }
        if (a.trustWarning) {
            lines.push(`${prefix}${a.trustWarning}`);
        }
    }
    const fresh = states.map(([, s]) => s).find((s) => s.kind === 'answer' && !s.answer.stale && s.answer.fetchedAt);
    const description = stale
        ? 'stale'
        : fresh?.kind === 'answer' && fresh.answer.fetchedAt
          ? `updated ${clockTime(fresh.answer.fetchedAt, now)}`
          : undefined;
    return { description, message: lines.length ? lines.join('\n') : undefined };
}
