/**
 * What the MSP view shows, as plain data: one folder's active session split into groups
 * (Updates, Decisions, Blockers, Entities, Payloads) and its past sessions by day. The model
 * keeps what it was told and says which nodes changed, so the view re-reads only those. No
 * vscode import: unit-tested directly (mspView.ts turns nodes into TreeItems).
 */

import { payloadLabel } from './payloads';
import { escapeMd, oneLine, plural } from './words';
import { formatElapsed } from './statusModel';
import { CapturedEntity, Payload, SessionChanged, SessionCounts, SessionDetail, SessionSummary } from './wire';

export type GroupKind = 'updates' | 'decisions' | 'blockers' | 'entities' | 'payloads';
export const GROUPS: readonly GroupKind[] = ['updates', 'decisions', 'blockers', 'entities', 'payloads'];
export const GROUP_TITLES: Record<GroupKind, string> = {
    updates: 'Updates',
    decisions: 'Decisions',
    blockers: 'Blockers',
    entities: 'Entities',
    payloads: 'Payloads',
};

export interface UpdateRecord {
    id: string;
    timestamp?: string;
    description: string;
    progress?: number | null;
}

export interface DecisionRecord {
    id: string;
    timestamp?: string;
    content: string;
    rationale?: string | null;
    alternatives?: string[];
    impact?: string | null;
    category?: string | null;
}

export interface BlockerRecord {
    id: string;
    description: string;
    status: string;
    severity?: string | null;
    category?: string | null;
    resolution?: string | null;
    createdAt?: string;
}

export interface EntityRecord {
    id?: string;
    name: string;
    type: string;
    path?: string | null;
    line?: number | null;
    language?: string | null;
}

/** A past session as `listSessions` returns it. */
export interface PastSession {
    id: string;
    project?: string;
    status: string;
    startTime: string;
    endTime?: string | null;
    startProgress?: number | null;
    endProgress?: number | null;
    goal?: string | null;
    summary?: string | null;
    counts?: Partial<SessionCounts>;
}

export type Node =
    | { kind: 'session'; folderUri: string }
    | { kind: 'group'; folderUri: string; group: GroupKind }
    // `sessionId`: a record of a past session (History), not of the active one.
    | { kind: 'update'; folderUri: string; record: UpdateRecord; sessionId?: string }
    | { kind: 'decision'; folderUri: string; record: DecisionRecord; sessionId?: string }
    | { kind: 'blocker'; folderUri: string; record: BlockerRecord; sessionId?: string }
    | { kind: 'entity'; folderUri: string; record: EntityRecord; sessionId?: string }
    | { kind: 'payload'; folderUri: string; record: Payload }
    | { kind: 'problem'; folderUri: string; path: string; reason: string }
    | { kind: 'day'; folderUri: string; day: string }
    | { kind: 'past'; folderUri: string; record: PastSession };

/** A stable id per node (TreeItem.id, and what msp.showInView looks up). */
export function nodeId(node: Node): string {
    switch (node.kind) {
        case 'session':
            return `${node.folderUri}#session`;
        case 'group':
            return `${node.folderUri}#${node.group}`;
        case 'day':
            return `${node.folderUri}#day:${node.day}`;
        case 'problem':
            return `${node.folderUri}#problem:${node.path}`;
        case 'entity':
            return `${node.folderUri}#${node.sessionId ? `${node.sessionId}#` : ''}entity:${node.record.id ?? `${node.record.name}@${node.record.path ?? ''}`}`;
        case 'past':
        case 'payload':
            return `${node.folderUri}#${node.kind}:${node.record.id}`;
        default:
            return `${node.folderUri}#${node.sessionId ? `${node.sessionId}#` : ''}${node.kind}:${node.record.id}`;
    }
}

/** The id of the record a node shows (upd-…, dec-…, pay-…), if it shows one. */
export function recordId(node: Node): string | undefined {
    return 'record' in node ? node.record.id : undefined;
}

interface Detail {
    sessionId: string;
    updates: UpdateRecord[];
    decisions: DecisionRecord[];
    blockers: BlockerRecord[];
    entities: EntityRecord[];
}

function detailOf(detail: SessionDetail): Detail {
    const raw = detail as unknown as Record<string, unknown>;
    return {
        sessionId: detail.id,
        updates: records<UpdateRecord>(raw.updates),
        decisions: records<DecisionRecord>(raw.decisions),
        blockers: records<BlockerRecord>(raw.blockers),
        entities: records<EntityRecord>(raw.entities),
    };
}

interface FolderState {
    change?: SessionChanged;
    detail?: Detail;
    /** Past sessions' records, read when their History item is expanded (`showSession`). */
    past: Map<string, Detail>;
    payloads: Payload[];
    /** Outbox numbers the payload list was read at (a change means a re-read). */
    syncKey?: string;
    history?: PastSession[];
    /** Files capture could not parse, by path (msp/captureProblems). */
    problems: Map<string, string>;
}

/** What a notification asks the view to do: fire these nodes, and read these parts again. */
export interface Refresh {
    /** Nodes whose item or children changed (`undefined` in the list: the whole tree). */
    changed: (Node | undefined)[];
    /** The session's whole record must be read again (`status`). */
    readStatus: boolean;
    /** The session's payloads must be read again (`listPayloads`). */
    readPayloads: boolean;
    /** The past sessions must be read again when next shown (`listSessions`). */
    historyStale: boolean;
}

/** A Refresh that fires `changed` (and reads what `reads` says; nothing by default). */
function refresh(changed: (Node | undefined)[], reads: Partial<Omit<Refresh, 'changed'>> = {}): Refresh {
    return { changed, readStatus: false, readPayloads: false, historyStale: false, ...reads };
}

function records<T>(list: unknown): T[] {
    return Array.isArray(list) ? list.filter((r): r is T => !!r && typeof r === 'object') : [];
}

/** Open blockers first, then newest first. */
export function sortBlockers(blockers: BlockerRecord[]): BlockerRecord[] {
    const open = (b: BlockerRecord): number => (b.status === 'active' ? 0 : 1);
    return [...blockers].sort((a, b) => open(a) - open(b) || (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
}

/** "2026-03-02" of an ISO time, in the local time zone. */
export function dayOf(iso: string): string {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) {
        return 'unknown day';
    }
    const pad = (n: number): string => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export class TreeModel {
    private readonly folders = new Map<string, FolderState>();

    private state(folderUri: string): FolderState {
        let s = this.folders.get(folderUri);
        if (!s) {
            s = { payloads: [], problems: new Map(), past: new Map() };
            this.folders.set(folderUri, s);
        }
        return s;
    }

    folderUris(): string[] {
        return [...this.folders.keys()];
    }

    session(folderUri: string): SessionSummary | undefined {
        const change = this.folders.get(folderUri)?.change;
        return change && change.state !== 'idle' && change.session ? change.session : undefined;
    }

    sessionState(folderUri: string): SessionChanged['state'] | undefined {
        return this.folders.get(folderUri)?.change?.state;
    }

    /** Folders with an active or crashed session: the view's roots. */
    roots(): Node[] {
        return this.folderUris()
            .filter((f) => this.session(f))
            .map((folderUri) => ({ kind: 'session', folderUri }));
    }

    /**
     * msp/sessionChanged. A different session (or state) reads the whole record; the same session
     * reads it only when a count moved past what the view already holds (an entity the
     * entitiesCaptured notification already added is not read again).
     */
    sessionChanged(change: SessionChanged): Refresh {
        const s = this.state(change.folderUri);
        const before = s.change;
        s.change = change;
        const session: Node = { kind: 'session', folderUri: change.folderUri };
        const sameSession = before?.session?.id === change.session?.id && before?.state === change.state;
        if (!change.session || change.state === 'idle') {
            const had = !!before?.session && before.state !== 'idle';
            s.detail = undefined;
            s.payloads = [];
            return { changed: had ? [undefined] : [], readStatus: false, readPayloads: false, historyStale: had };
        }
        if (!sameSession || !s.detail || s.detail.sessionId !== change.session.id) {
            s.payloads = sameSession ? s.payloads : [];
            return { changed: [undefined], readStatus: true, readPayloads: !sameSession, historyStale: !sameSession };
        }
        const counts = change.session.counts;
        const held: Record<Exclude<GroupKind, 'payloads'>, number> = {
            updates: s.detail.updates.length,
            decisions: s.detail.decisions.length,
            blockers: s.detail.blockers.length,
            entities: s.detail.entities.length,
        };
        const stale = (Object.keys(held) as (keyof typeof held)[]).filter((g) => (counts[g] ?? 0) !== held[g]);
        const openNow = s.detail.blockers.filter((b) => b.status === 'active').length;
        if (openNow !== change.session.openBlockers && !stale.includes('blockers')) {
            stale.push('blockers');
        }
        const groups = stale.map((group): Node => ({ kind: 'group', folderUri: change.folderUri, group }));
        return refresh([session, ...groups], { readStatus: stale.length > 0 });
    }

    /** The `status` answer: the session's whole record. */
    setDetail(folderUri: string, detail: SessionDetail | null): void {
        const s = this.state(folderUri);
        if (!detail) {
            s.detail = undefined;
            return;
        }
        s.detail = detailOf(detail);
    }

    /** The `showSession` answer for a past session. */
    setPastDetail(folderUri: string, detail: SessionDetail): void {
        this.state(folderUri).past.set(detail.id, detailOf(detail));
    }

    hasPastDetail(folderUri: string, sessionId: string): boolean {
        return !!this.folders.get(folderUri)?.past.has(sessionId);
    }

    hasDetail(folderUri: string): boolean {
        return !!this.folders.get(folderUri)?.detail;
    }

    /**
     * The record a command wrote (its answer's `record`): merged by id into its group, so the
     * msp/sessionChanged that follows finds the counts it holds and reads nothing.
     */
    recordWritten(folderUri: string, record: { kind?: unknown; id?: unknown }): Refresh {
        const detail = this.folders.get(folderUri)?.detail;
        const group = ({ update: 'updates', decision: 'decisions', blocker: 'blockers', entity: 'entities' } as const)[
            String(record.kind) as 'update'
        ];
        if (!detail || !group || typeof record.id !== 'string') {
            return refresh([]);
        }
        const list = detail[group] as { id?: string }[];
        const at = list.findIndex((r) => r.id === record.id);
        if (at >= 0) {
            list[at] = { ...list[at], ...(record as { id: string }) };
        } else {
            list.push(record as { id: string });
        }
        return refresh([{ kind: 'group', folderUri, group }]);
    }

    /** msp/entitiesCaptured: added to the Entities group without a re-read. */
    entitiesCaptured(folderUri: string, entities: CapturedEntity[]): Refresh {
        const detail = this.folders.get(folderUri)?.detail;
        if (!detail || !entities.length) {
            return refresh([]);
        }
        const key = (e: EntityRecord): string => `${e.type}:${e.name}@${e.path ?? ''}`;
        const known = new Set(detail.entities.map(key));
        detail.entities.push(...entities.filter((e) => !known.has(key(e))));
        return refresh([{ kind: 'group', folderUri, group: 'entities' }]);
    }

    /** msp/payloadsGenerated: merged into the Payloads group by id, no re-read. */
    payloadsGenerated(folderUri: string, payloads: Payload[]): Refresh {
        const s = this.state(folderUri);
        const sessionId = this.session(folderUri)?.id;
        const mine = payloads.filter((p) => !p.sessionId || !sessionId || p.sessionId === sessionId);
        if (!mine.length) {
            return refresh([]);
        }
        this.mergePayloads(s, mine);
        return refresh([{ kind: 'group', folderUri, group: 'payloads' }]);
    }

    private mergePayloads(s: FolderState, payloads: Payload[]): void {
        const byId = new Map(s.payloads.map((p) => [p.id, p]));
        for (const p of payloads) {
            byId.set(p.id, { ...byId.get(p.id), ...p });
        }
        s.payloads = [...byId.values()];
    }

    /** msp/syncStatus: payload states moved when the outbox numbers did; then re-read them. */
    syncStatus(folderUri: string, raw: Record<string, unknown>): Refresh {
        const s = this.state(folderUri);
        const key = JSON.stringify([raw.queued, raw.inFlight, raw.dead, raw.sent, raw.generated]);
        const moved = s.syncKey !== undefined && s.syncKey !== key;
        s.syncKey = key;
        const readPayloads = moved && !!this.session(folderUri);
        return refresh(readPayloads ? [{ kind: 'group', folderUri, group: 'payloads' }] : [], { readPayloads });
    }

    /** msp/captureProblems: listed first under Entities until the file parses again. */
    captureProblems(folderUri: string, problems: { path: string; reason: string }[], resolved: string[]): Refresh {
        const s = this.state(folderUri);
        const before = JSON.stringify([...s.problems]);
        for (const path of resolved) {
            s.problems.delete(path);
        }
        for (const p of problems) {
            s.problems.set(p.path, p.reason);
        }
        const moved = before !== JSON.stringify([...s.problems]) && !!this.session(folderUri);
        return refresh(moved ? [{ kind: 'group', folderUri, group: 'entities' }] : []);
    }

    /** The `listPayloads` answer for the active session. */
    setPayloads(folderUri: string, payloads: Payload[]): void {
        const sessionId = this.session(folderUri)?.id;
        this.state(folderUri).payloads = payloads.filter((p) => !sessionId || !p.sessionId || p.sessionId === sessionId);
    }

    setHistory(folderUri: string, sessions: PastSession[]): void {
        const activeId = this.session(folderUri)?.id;
        this.state(folderUri).history = sessions.filter((p) => p.id !== activeId);
    }

    history(folderUri: string): PastSession[] | undefined {
        return this.folders.get(folderUri)?.history;
    }

    dropHistory(folderUri: string): void {
        const s = this.folders.get(folderUri);
        if (s) {
            s.history = undefined;
        }
    }

    count(folderUri: string, group: GroupKind): number {
        const s = this.folders.get(folderUri);
        if (group === 'payloads') {
            return s?.payloads.length ?? 0;
        }
        if (group === 'entities' && s?.problems.size) {
            return (s.detail?.entities.length ?? 0) + s.problems.size;
        }
        return s?.detail?.[group].length ?? s?.change?.session?.counts[group] ?? 0;
    }

    children(node: Node | undefined): Node[] {
        if (!node) {
            return this.roots();
        }
        const { folderUri } = node;
        const s = this.folders.get(folderUri);
        switch (node.kind) {
            case 'session':
                return GROUPS.map((group) => ({ kind: 'group', folderUri, group }));
            case 'group':
                return this.groupChildren(folderUri, node.group, s);
            case 'day':
                return (s?.history ?? [])
                    .filter((p) => dayOf(p.startTime) === node.day)
                    .map((record) => ({ kind: 'past', folderUri, record }));
            case 'past': {
                const d = s?.past.get(node.record.id);
                const sessionId = node.record.id;
                return d
                    ? [
                          ...d.decisions.map((record): Node => ({ kind: 'decision', folderUri, record, sessionId })),
                          ...sortBlockers(d.blockers).map((record): Node => ({ kind: 'blocker', folderUri, record, sessionId })),
                          ...d.updates.map((record): Node => ({ kind: 'update', folderUri, record, sessionId })),
                          ...d.entities.map((record): Node => ({ kind: 'entity', folderUri, record, sessionId })),
                      ]
                    : [];
            }
            default:
                return [];
        }
    }

    private groupChildren(folderUri: string, group: GroupKind, s: FolderState | undefined): Node[] {
        const d = s?.detail;
        switch (group) {
            case 'updates':
                return [...(d?.updates ?? [])].reverse().map((record) => ({ kind: 'update', folderUri, record }));
            case 'decisions':
                return [...(d?.decisions ?? [])].reverse().map((record) => ({ kind: 'decision', folderUri, record }));
            case 'blockers':
                return sortBlockers(d?.blockers ?? []).map((record) => ({ kind: 'blocker', folderUri, record }));
            case 'entities':
                return [
                    ...[...(s?.problems ?? [])].map(([path, reason]): Node => ({ kind: 'problem', folderUri, path, reason })),
                    ...(d?.entities ?? []).map((record): Node => ({ kind: 'entity', folderUri, record })),
                ];
            case 'payloads':
                return [...(s?.payloads ?? [])].reverse().map((record) => ({ kind: 'payload', folderUri, record }));
        }
    }

    /** Past sessions grouped by the day they started, newest day first. */
    days(folderUri: string): Node[] {
        const days = [...new Set((this.folders.get(folderUri)?.history ?? []).map((p) => dayOf(p.startTime)))];
        return days.sort().reverse().map((day) => ({ kind: 'day', folderUri, day }));
    }

    parent(node: Node): Node | undefined {
        switch (node.kind) {
            case 'session':
            case 'day':
                return undefined;
            case 'group':
                return { kind: 'session', folderUri: node.folderUri };
            case 'past':
                return { kind: 'day', folderUri: node.folderUri, day: dayOf(node.record.startTime) };
            case 'problem':
                return { kind: 'group', folderUri: node.folderUri, group: 'entities' };
            default: {
                const sessionId = node.kind === 'payload' ? undefined : node.sessionId;
                if (sessionId) {
                    const record = this.folders.get(node.folderUri)?.history?.find((p) => p.id === sessionId);
                    return record && { kind: 'past', folderUri: node.folderUri, record };
                }
                return { kind: 'group', folderUri: node.folderUri, group: `${node.kind}s` as GroupKind };
            }
        }
    }

    /** The node showing record `id` (upd-…, dec-…, blk-…, pay-…, an entity id) in any folder. */
    find(id: string): Node | undefined {
        for (const folderUri of this.folderUris()) {
            for (const group of GROUPS) {
                const hit = this.groupChildren(folderUri, group, this.folders.get(folderUri)).find((n) => recordId(n) === id);
                if (hit) {
                    return hit;
                }
            }
        }
        return undefined;
    }
}

// ---- labels -----------------------------------------------------------------------------------

export interface NodeView {
    label: string;
    description?: string;
    /** Markdown. */
    tooltip?: string;
    icon: string;
    /** contextValue: what the inline actions (package.json menus) match. */
    context: string;
    expanded?: boolean;
    collapsible: boolean;
}

function clock(iso: string | undefined, now: Date): string | undefined {
    if (!iso) {
        return undefined;
    }
    const t = Date.parse(iso);
    if (Number.isNaN(t)) {
        return undefined;
    }
    const ms = now.getTime() - t;
    return ms < 60_000 ? 'just now' : `${formatElapsed(ms)} ago`;
}

const ENTITY_ICONS: Record<string, string> = {
    class: 'symbol-class',
    function: 'symbol-function',
    method: 'symbol-method',
    interface: 'symbol-interface',
    struct: 'symbol-struct',
    enum: 'symbol-enum',
    module: 'symbol-module',
    file: 'symbol-file',
};

const PAYLOAD_ICONS: Record<string, string> = {
    generated: 'file-code',
    queued: 'cloud-upload',
    inFlight: 'sync',
    sent: 'check',
    dead: 'error',
};

/** "1 update · 2 decisions · 1 open blocker" */
export function countsLine(counts: Partial<SessionCounts>, openBlockers?: number): string {
    const parts = [
        plural(counts.updates ?? 0, 'update'),
        plural(counts.decisions ?? 0, 'decision'),
        plural(counts.blockers ?? 0, 'blocker'),
        plural(counts.entities ?? 0, 'entity', 'entities'),
    ];
    if (openBlockers) {
        parts[2] += ` (${openBlockers} open)`;
    }
    return parts.join(' · ');
}

export function describe(model: TreeModel, node: Node, now: Date, multiRoot = false): NodeView {
    switch (node.kind) {
        case 'session': {
            const s = model.session(node.folderUri);
            const crashed = model.sessionState(node.folderUri) === 'crashed';
            const start = s ? Date.parse(s.startTime) : NaN;
            const elapsed = Number.isNaN(start) ? undefined : formatElapsed(now.getTime() - start);
            const progress = s?.progress === null || s?.progress === undefined ? undefined : `${s.progress}%`;
            const folder = multiRoot ? decodeURIComponent(node.folderUri.split('/').pop() ?? '') : undefined;
            return {
                label: s?.goal ? oneLine(s.goal) : 'Session (no goal set)',
                description: [crashed ? 'crashed' : undefined, progress, elapsed, folder].filter(Boolean).join(' · '),
                tooltip: s
                    ? `**${escapeMd(s.goal ?? 'No goal set')}**\n\n${progress ?? '?'} · running ${elapsed ?? '?'}` +
                      `\n\n${countsLine(s.counts, s.openBlockers)}\n\nSession \`${s.id}\` · ${escapeMd(s.project)}` +
                      (crashed ? '\n\nThis session was left open past its timeout: recover or end it.' : '')
                    : undefined,
                icon: crashed ? 'debug-disconnect' : 'pulse',
                context: crashed ? 'msp.session.crashed' : 'msp.session.active',
                expanded: true,
                collapsible: true,
            };
        }
        case 'group': {
            const n = model.count(node.folderUri, node.group);
            const open = node.group === 'blockers' ? (model.session(node.folderUri)?.openBlockers ?? 0) : 0;
            return {
                label: GROUP_TITLES[node.group],
                description: open ? `${n} · ${open} open` : String(n),
                icon: { updates: 'note', decisions: 'law', blockers: 'warning', entities: 'symbol-class', payloads: 'package' }[node.group],
                context: `msp.group.${node.group}`,
                // Always collapsible: VS Code keeps an item's first collapsible state by id, so a
                // group that starts empty would stay closed once records arrive.
                expanded: true,
                collapsible: true,
            };
        }
        case 'update': {
            const r = node.record;
            const progress = r.progress === null || r.progress === undefined ? undefined : `${r.progress}%`;
            return {
                label: oneLine(r.description),
                description: [progress, clock(r.timestamp, now)].filter(Boolean).join(' · '),
                tooltip: `${escapeMd(r.description)}${progress ? `\n\nProgress: ${progress}` : ''}\n\n\`${r.id}\``,
                icon: 'note',
                context: 'msp.update',
                collapsible: false,
            };
        }
        case 'decision': {
            const r = node.record;
            const lines = [`**${escapeMd(r.content)}**`];
            lines.push(`Why: ${r.rationale ? escapeMd(r.rationale) : '_no rationale given_'}`);
            if (r.alternatives?.length) {
                lines.push(`Alternatives considered: ${r.alternatives.map(escapeMd).join('; ')}`);
            }
            lines.push(`Impact: ${r.impact ?? 'medium'}${r.category ? ` · ${escapeMd(r.category)}` : ''} · \`${r.id}\``);
            return {
                label: oneLine(r.content),
                description: [r.impact && r.impact !== 'medium' ? `${r.impact} impact` : undefined, clock(r.timestamp, now)]
                    .filter(Boolean)
                    .join(' · '),
                tooltip: lines.join('\n\n'),
                icon: 'law',
                context: 'msp.decision',
                collapsible: false,
            };
        }
        case 'blocker': {
            const r = node.record;
            const open = r.status === 'active';
            return {
                label: oneLine(r.description),
                description: [open ? 'open' : 'resolved', r.severity, r.category].filter(Boolean).join(' · '),
                tooltip:
                    `**${escapeMd(r.description)}**\n\n${open ? 'Open' : 'Resolved'} · ${r.severity ?? '?'} · ${r.category ?? '?'}` +
                    `${r.resolution ? `\n\nResolution: ${escapeMd(r.resolution)}` : ''}\n\n\`${r.id}\``,
                icon: open ? 'warning' : 'pass',
                context: open ? 'msp.blocker.open' : 'msp.blocker.resolved',
                collapsible: false,
            };
        }
        case 'entity': {
            const r = node.record;
            const where = r.path ? `${r.path}${r.line ? `:${r.line}` : ''}` : undefined;
            return {
                label: r.name,
                description: [r.type, where].filter(Boolean).join(' · '),
                tooltip: `**${escapeMd(r.name)}** (${r.type})${where ? `\n\n${escapeMd(where)}` : ''}`,
                icon: ENTITY_ICONS[r.type] ?? 'symbol-misc',
                context: r.path ? 'msp.entity.file' : 'msp.entity',
                collapsible: false,
            };
        }
        case 'payload': {
            const p = node.record;
            const status = p.status ?? 'generated';
            const lastError = typeof p.lastError === 'string' ? p.lastError : undefined;
            return {
                label: payloadLabel(p),
                description: statusWords(status),
                tooltip:
                    `**${escapeMd(p.title)}**\n\n${escapeMd(p.integration)} · ${escapeMd(p.kind)} · ${statusWords(status)}` +
                    `${lastError ? `\n\nLast error: ${escapeMd(lastError)}` : ''}\n\n\`${p.id}\``,
                icon: PAYLOAD_ICONS[status] ?? 'file-code',
                context: `msp.payload.${status}`,
                collapsible: false,
            };
        }
        case 'day': {
            // The newest day is open: the session that just ended is one click away.
            const newest = model.days(node.folderUri)[0];
            const expanded = newest?.kind === 'day' && newest.day === node.day;
            return { label: node.day, icon: 'calendar', context: 'msp.day', expanded, collapsible: true };
        }
        case 'problem':
            return {
                label: node.path,
                description: 'not scanned — fix and save',
                tooltip: `**${escapeMd(node.path)}** was not scanned for entities:\n\n${escapeMd(node.reason)}`,
                icon: 'warning',
                context: 'msp.problem',
                collapsible: false,
            };
        case 'past': {
            const r = node.record;
            const progress = r.endProgress ?? r.startProgress;
            return {
                label: r.goal ? oneLine(r.goal) : r.id,
                description: [r.status === 'completed' ? undefined : r.status, progress === null || progress === undefined ? undefined : `${progress}%`]
                    .filter(Boolean)
                    .join(' · '),
                tooltip:
                    `**${escapeMd(r.goal ?? 'No goal set')}**\n\n${countsLine(r.counts ?? {})}` +
                    `${r.summary ? `\n\n${escapeMd(r.summary)}` : ''}\n\nSession \`${r.id}\` · ${r.status}`,
                icon: r.status === 'crashed' ? 'debug-disconnect' : 'history',
                context: `msp.past.${r.status}`,
                expanded: false,
                collapsible: Object.values(r.counts ?? {}).some((n) => (n ?? 0) > 0),
            };
        }
    }
}

export function statusWords(status: string): string {
    return (
        {
            generated: 'ready to copy or send',
            queued: 'waiting to be sent',
            inFlight: 'sending',
            sent: 'sent',
            dead: 'failed',
        }[status] ?? status
    );
}
