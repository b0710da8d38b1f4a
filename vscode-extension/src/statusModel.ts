/**
 * What the status bar shows, as pure functions of the last msp/sessionChanged and msp/syncStatus
 * (plus the clock, for the elapsed time). No vscode import: unit-tested directly.
 */

import { CommandKey } from './commandIds';
import { SessionChanged } from './wire';
import { escapeMd, plural } from './words';

export type ServerState = 'starting' | 'running' | 'failed' | 'stopped';

export interface SyncTargetError {
    target: string;
    message: string;
}

export interface SyncState {
    /** Payloads waiting in the outbox. */
    depth: number;
    /** Payloads that will not be delivered (dead letters). */
    dead: number;
    /** Targets whose last delivery failed. */
    errors: SyncTargetError[];
    /** What waits for the user (newer servers' `needsAction`): the badge counts only this. */
    needsAction?: NeedsAction;
}

export interface NeedsActionItem {
    integration: string;
    /** retry · review · trust · … (the action that clears it). */
    action: string;
    count: number;
    reason?: string | null;
}

export interface NeedsAction {
    total: number;
    items: NeedsActionItem[];
}

/** "retry" -> "to retry", "trust" -> "need trust": the badge's words for an action. */
const ACTION_WORDS: Record<string, string> = {
    retry: 'to retry',
    review: 'to review',
    trust: 'need trust',
    setCredential: 'need a credential',
    enable: 'wait for an integration',
    fixConfig: 'need a config fix',
};

export function actionWords(action: string): string {
    return ACTION_WORDS[action] ?? `need ${action}`;
}

function parseNeedsAction(raw: unknown): NeedsAction | undefined {
    if (!raw || typeof raw !== 'object') {
        return undefined;
    }
    const obj = raw as { total?: unknown; items?: unknown };
    const items = (Array.isArray(obj.items) ? obj.items : [])
        .filter((i): i is Record<string, unknown> => !!i && typeof i === 'object')
        .filter((i) => typeof i.integration === 'string' && typeof i.action === 'string' && typeof i.count === 'number' && i.count > 0)
        .map((i) => ({
            integration: i.integration as string,
            action: i.action as string,
            count: i.count as number,
            reason: typeof i.reason === 'string' ? i.reason : null,
        }));
    const total = typeof obj.total === 'number' ? obj.total : items.reduce((n, i) => n + i.count, 0);
    return { total: Math.max(0, total), items };
}

/** Whether the badge has something for the user to do. */
export function needsUser(sync: SyncState | undefined): boolean {
    if (!sync) {
        return false;
    }
    return sync.needsAction ? sync.needsAction.total > 0 : sync.errors.length > 0 || sync.dead > 0;
}

export interface StatusInput {
    server: ServerState;
    change?: SessionChanged;
    sync?: SyncState;
    /** Shown in text and tooltip when the window has several folders. */
    folderName?: string;
    multiRoot?: boolean;
    /** VS Code's Restricted Mode (the workspace is not trusted): the server runs restricted. */
    restricted?: boolean;
}

export interface StatusView {
    text: string;
    /** Screen-reader label (also what UI tests look for): "MSP: active session, 45%, running 1h 12m". */
    label: string;
    /** Markdown. */
    tooltip: string;
    background: 'none' | 'warning' | 'error';
}

const MINUTE = 60_000;

export const RESTRICTED_TOOLTIP =
    '**Restricted Mode**: MSP records and generates payloads but does not deliver them and ' +
    "ignores this folder's integration endpoints, modules and paths. Trust the workspace to " +
    'enable them.';

/** "0m", "12m", "1h 12m", "3h", "2d 4h": elapsed time the way a status bar has room for. */
export function formatElapsed(ms: number): string {
    const minutes = Math.max(0, Math.floor(ms / MINUTE));
    if (minutes < 60) {
        return `${minutes}m`;
    }
    const hours = Math.floor(minutes / 60);
    if (hours < 24) {
        const rest = minutes % 60;
        return rest ? `${hours}h ${rest}m` : `${hours}h`;
    }
    const days = Math.floor(hours / 24);
    const restHours = hours % 24;
    return restHours ? `${days}d ${restHours}h` : `${days}d`;
}

/** "just now", "5m ago", "2h 3m ago". */
export function formatAgo(iso: string | null | undefined, now: Date): string {
    if (!iso) {
        return 'never';
    }
    const then = Date.parse(iso);
    if (Number.isNaN(then)) {
        return iso;
    }
    const ms = now.getTime() - then;
    return ms < MINUTE ? 'just now' : `${formatElapsed(ms)} ago`;
}

export function elapsedSince(iso: string | undefined, now: Date): string | undefined {
    if (!iso) {
        return undefined;
    }
    const start = Date.parse(iso);
    return Number.isNaN(start) ? undefined : formatElapsed(now.getTime() - start);
}

/**
 * msp/syncStatus -> SyncState: `queued` is the outbox depth, `dead` the undeliverable ones, and
 * each integration's `lastError` (of a payload still queued or dead) a sync error.
 */
export function parseSyncStatus(raw: unknown): { folderUri?: string; sync: SyncState } {
    const sync: SyncState = { depth: 0, dead: 0, errors: [] };
    if (!raw || typeof raw !== 'object') {
        return { sync };
    }
    const obj = raw as Record<string, unknown>;
    const count = (value: unknown): number =>
        typeof value === 'number' && Number.isFinite(value) ? Math.max(0, Math.floor(value)) : 0;
    sync.depth = count(obj.queued);
    sync.dead = count(obj.dead);
    const integrations = obj.integrations;
    if (integrations && typeof integrations === 'object' && !Array.isArray(integrations)) {
        for (const [target, value] of Object.entries(integrations as Record<string, unknown>)) {
            const lastError = value && typeof value === 'object' ? (value as { lastError?: unknown }).lastError : undefined;
            if (typeof lastError === 'string' && lastError) {
                sync.errors.push({ target, message: lastError });
            }
        }
    }
    if ('needsAction' in obj) {
        sync.needsAction = parseNeedsAction(obj.needsAction);
    }
    return { folderUri: typeof obj.folderUri === 'string' ? obj.folderUri : undefined, sync };
}

/** "1 to retry", "2 need trust", or "3 need you" when the actions differ. */
export function badgeWords(needs: NeedsAction): string {
    const actions = [...new Set(needs.items.map((i) => i.action))];
    return actions.length === 1 ? `${needs.total} ${actionWords(actions[0])}` : `${needs.total} need you`;
}

function syncSuffix(sync: SyncState | undefined): string {
    if (!sync) {
        return '';
    }
    let out = '';
    if (sync.needsAction) {
        if (sync.needsAction.total > 0) {
            out += ` · $(bell-dot) ${badgeWords(sync.needsAction)}`;
        }
    } else if (sync.errors.length || sync.dead) {
        out += ` · $(sync-ignored) ${sync.errors.length || sync.dead} failed`;
    }
    if (sync.depth > 0) {
        out += ` · $(cloud-upload) ${sync.depth}`;
    }
    return out;
}

/** Text, tooltip and background of the status bar item. */
export function renderStatus(input: StatusInput, now: Date): StatusView {
    const view = renderPlain(input, now);
    if (!input.restricted) {
        return view;
    }
    return { ...view, tooltip: `${view.tooltip}\n\n$(shield) ${RESTRICTED_TOOLTIP}` };
}

/** "MSP", "MSP (api)", "MSP (restricted)", "MSP (api, restricted)". */
function itemLabel(input: StatusInput): string {
    const parts = [
        ...(input.multiRoot && input.folderName ? [input.folderName] : []),
        ...(input.restricted ? ['restricted'] : []),
    ];
    return parts.length ? `MSP (${parts.join(', ')})` : 'MSP';
}

function renderPlain(input: StatusInput, now: Date): StatusView {
    const label = itemLabel(input);
    const where = input.multiRoot && input.folderName ? ` — folder ${escapeMd(input.folderName)}` : '';
    if (input.server === 'failed' || input.server === 'stopped') {
        return {
            text: `$(error) ${label} off`,
            label: `${label}: the language server is not running`,
            tooltip: `**MSP**${where}\n\nThe MSP language server is not running. Click for options.`,
            background: 'error',
        };
    }
    const change = input.change;
    if (input.server === 'starting' || !change) {
        return {
            text: `$(sync~spin) ${label}`,
            label: `${label}: starting`,
            tooltip: `**MSP**${where}\n\nStarting the MSP language server…`,
            background: 'none',
        };
    }
    const sync = syncSuffix(input.sync);
    const syncLines = syncTooltip(input.sync);
    const session = change.session;
    if (change.state === 'idle' || !session) {
        return {
            text: `$(circle-large-outline) ${label}${sync}`,
            label: `${label}: no active session${syncLabel(input.sync)}`,
            tooltip: `**MSP**${where}\n\nNo active session. Click to start one.${syncLines}`,
            background: needsUser(input.sync) ? 'warning' : 'none',
        };
    }
    const progress = session.progress === null || session.progress === undefined ? '' : ` ${session.progress}%`;
    const elapsed = elapsedSince(session.startTime, now);
    const lines = [
        `**MSP — ${escapeMd(session.project)}**${where}`,
        '',
        `Goal: ${session.goal ? escapeMd(session.goal) : '_none set_'}`,
        '',
        `Progress: ${session.progress ?? '?'}%${elapsed ? ` · running ${elapsed}` : ''}`,
        '',
        `Last update: ${formatAgo(session.lastActivity, now)}`,
        '',
        `${plural(session.counts.updates, 'update')} · ${plural(session.counts.decisions, 'decision')} · ` +
            `${plural(session.counts.blockers, 'blocker')} (${session.openBlockers} open) · ` +
            plural(session.counts.entities, 'entity', 'entities'),
        '',
        `Session \`${session.id}\``,
    ];
    if (change.state === 'crashed') {
        return {
            text: `$(debug-disconnect) ${label} crashed${progress}${sync}`,
            label: `${label}: crashed session${progress ? `,${progress}` : ''}${syncLabel(input.sync)}`,
            tooltip:
                `${lines.join('\n')}\n\n**The session was left open past its timeout.** ` +
                `Click to recover or end it.${syncLines}`,
            background: 'error',
        };
    }
    const blockers = session.openBlockers > 0 ? ` · ${plural(session.openBlockers, 'blocker')}` : '';
    const icon = session.openBlockers > 0 ? '$(warning)' : '$(pulse)';
    return {
        text: `${icon} ${label}${progress}${elapsed ? ` · ${elapsed}` : ''}${blockers}${sync}`,
        label:
            `${label}: active session${progress ? `,${progress}` : ''}${elapsed ? `, running ${elapsed}` : ''}` +
            `${session.openBlockers ? `, ${plural(session.openBlockers, 'open blocker')}` : ''}${syncLabel(input.sync)}`,
        tooltip: `${lines.join('\n')}${syncLines}`,
        background: session.openBlockers > 0 || needsUser(input.sync) ? 'warning' : 'none',
    };
}

function syncLabel(sync: SyncState | undefined): string {
    if (!sync) {
        return '';
    }
    const parts: string[] = [];
    if (sync.needsAction) {
        if (sync.needsAction.total > 0) {
            parts.push(badgeWords(sync.needsAction).replace(/ need you$/, ' deliveries need you'));
        }
    } else if (sync.errors.length || sync.dead) {
        parts.push(`${plural(sync.errors.length || sync.dead, 'failed delivery', 'failed deliveries')}`);
    }
    if (sync.depth) {
        parts.push(`${plural(sync.depth, 'payload')} in the outbox`);
    }
    return parts.length ? `, ${parts.join(', ')}` : '';
}

function syncTooltip(sync: SyncState | undefined): string {
    if (!sync) {
        return '';
    }
    const parts = [`\n\nSync: ${sync.depth ? `${plural(sync.depth, 'payload')} waiting in the outbox` : 'outbox empty'}`];
    if (sync.dead) {
        parts.push(` · ${plural(sync.dead, 'payload')} undeliverable`);
    }
    if (sync.needsAction) {
        for (const item of sync.needsAction.items) {
            const why = item.reason ? ` — ${escapeMd(item.reason)}` : '';
            parts.push(`\n\n$(bell-dot) ${escapeMd(item.integration)}: ${plural(item.count, 'payload')} ${actionWords(item.action)}${why}`);
        }
        return parts.join('');
    }
    for (const error of sync.errors) {
        parts.push(`\n\n$(error) ${escapeMd(error.target)}: ${escapeMd(error.message)}`);
    }
    return parts.join('');
}

/** The likely next actions the status bar's quick pick offers, most likely first. */
export function nextActions(input: StatusInput): CommandKey[] {
    const actions = plainNextActions(input);
    if (!input.restricted) {
        return actions;
    }
    // It explains Restricted Mode and leads to VS Code's workspace trust.
    const log = actions.indexOf('showLog');
    return log < 0 ? [...actions, 'trustFolderConfig'] : [...actions.slice(0, log), 'trustFolderConfig', ...actions.slice(log)];
}

function plainNextActions(input: StatusInput): CommandKey[] {
    if (input.server === 'failed' || input.server === 'stopped') {
        return ['restartServer', 'showLog'];
    }
    const syncActions: CommandKey[] = [];
    if (needsUser(input.sync) || input.sync?.depth) {
        syncActions.push('flushOutbox', 'showPayloads');
    }
    const change = input.change;
    if (!change || input.server === 'starting') {
        return ['showLog', 'restartServer'];
    }
    if (change.state === 'crashed') {
        return ['recoverSession', 'endSession', 'showStatus', ...syncActions, 'showLog'];
    }
    if (change.state === 'idle' || !change.session) {
        return ['startSession', 'recoverSession', 'exportContext', ...syncActions, 'showLog'];
    }
    const actions: CommandKey[] = ['updateProgress', 'recordDecision'];
    if (change.session.openBlockers > 0) {
        actions.push('resolveBlocker');
    }
    actions.push(
        'recordBlocker',
        'endSession',
        'showStatus',
        'exportContext',
        'generateCommitMessage',
        ...syncActions,
        'showPayloads',
        'showLog',
    );
    return [...new Set(actions)];
}
