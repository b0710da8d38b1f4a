/**
 * The wire names of msp-server, mirrored from msp_server/wire.json (the single source of truth).
 * test/contract.test.ts fails when this file and wire.json drift apart.
 */

export const COMMAND_PREFIX = 'msp.server.';

/** Server commands the wire contract serves today. */
export const SERVER_COMMANDS = [
    'startSession',
    'update',
    'decide',
    'block',
    'resolve',
    'recordEntity',
    'endSession',
    'status',
    'recover',
    'exportContext',
    'commitMessage',
    'listSessions',
    'listPayloads',
    'validateIntegrations',
    'openPayload',
    'flushOutbox',
    'sendPayload',
    'report',
    'team',
    'showSession',
] as const;

/**
 * Reserved names a newer server may serve (none at the moment). Every call checks the running
 * server's executeCommandProvider first, so an older server says "not available" instead.
 */
export const PLANNED_SERVER_COMMANDS = [] as const;

export type ServerVerb = (typeof SERVER_COMMANDS)[number];

export function serverCommandId(verb: ServerVerb): string {
    return `${COMMAND_PREFIX}${verb}`;
}

export const NOTIFICATIONS = {
    sessionChanged: 'msp/sessionChanged',
    entitiesCaptured: 'msp/entitiesCaptured',
    payloadsGenerated: 'msp/payloadsGenerated',
    syncStatus: 'msp/syncStatus',
    /** Client -> server: `{workspaceTrusted}`; the server re-reads settings and trust. */
    trustChanged: 'msp/trustChanged',
    /** Server -> client: files capture could not parse (once per file and reason), and the
     *  ones that parse again. */
    captureProblems: 'msp/captureProblems',
} as const;

export const PLANNED_NOTIFICATIONS = {} as const;

/** Client commands the server's code actions call (only the client reaches the clipboard). */
export const CLIENT_COMMANDS = {
    copyPayload: { id: 'msp.copyPayload', args: ['folderUri', 'id'] },
    showInView: { id: 'msp.showInView', args: ['folderUri', 'id', 'kind'] },
} as const;

export const SESSION_CHANGED_KEYS = ['folderUri', 'state', 'session'] as const;
export const SESSION_KEYS = [
    'id',
    'project',
    'status',
    'progress',
    'startProgress',
    'endProgress',
    'startTime',
    'endTime',
    'lastActivity',
    'duration',
    'goal',
    'openBlockers',
    'counts',
] as const;
/** What a mutating command (start, update, decide, block, resolve, entity, end, recover) answers. */
export const ACTION_RESULT_KEYS = ['state', 'session', 'record', 'payloads', 'failures', 'redacted'] as const;
export const COUNTS_KEYS = ['updates', 'decisions', 'blockers', 'entities'] as const;
export const SESSION_STATES = ['idle', 'active', 'crashed'] as const;
export const ENTITIES_CAPTURED_KEYS = ['folderUri', 'entities'] as const;
export const ENTITY_KEYS = ['name', 'type', 'path', 'language', 'line'] as const;
export const PAYLOADS_GENERATED_KEYS = ['folderUri', 'payloads', 'failures'] as const;
export const PAYLOAD_KEYS = ['id', 'integration', 'hook', 'eventId', 'sessionId', 'status', 'createdAt', 'kind', 'title'] as const;
export const FAILURE_KEYS = ['integration', 'hook', 'eventId', 'error', 'createdAt'] as const;
export const CAPTURE_PROBLEMS_KEYS = ['folderUri', 'problems', 'resolved'] as const;
export const CAPTURE_PROBLEM_KEYS = ['path', 'reason'] as const;
export const SYNC_STATUS_KEYS = [
    'folderUri',
    'integrations',
    'queued',
    'inFlight',
    'dead',
    'sent',
    'generated',
    'retrying',
    'needsAction',
] as const;
/** `needsAction` of msp/syncStatus: what the badge counts, each item with the action that clears it. */
export const NEEDS_ACTION_KEYS = ['total', 'dead', 'held', 'blocked', 'items'] as const;
export const NEEDS_ACTION_ITEM_KEYS = ['integration', 'action', 'count', 'payloads', 'reason'] as const;
export const NEEDS_ACTIONS = ['retry', 'review', 'setCredential', 'trust', 'enable', 'fixConfig'] as const;
export const FLUSH_REPORT_KEYS = ['sent', 'retrying', 'dead', 'errors', 'blocked', 'queuedLeft', 'deadTotal'] as const;

/** `error.data.code` of a refused command (the CLI's exit code for the same failure). */
export const ERROR_CODES = {
    noActiveSession: 1,
    sessionAlreadyActive: 2,
    config: 3,
    integration: 4,
    stateCorruption: 5,
    usage: 64,
} as const;

export const SETTINGS_SECTION = 'msp';
export const CAPTURE_KEYS = ['enabled', 'exclude'] as const;

// ---- payload shapes -------------------------------------------------------------------------

export type SessionState = (typeof SESSION_STATES)[number];

export interface SessionCounts {
    updates: number;
    decisions: number;
    blockers: number;
    entities: number;
}

/** `session` of msp/sessionChanged and of every mutating command's answer: a session without
 *  its events (the server reads it in O(1) from counters on the session row). */
export interface SessionSummary {
    id: string;
    project: string;
    status: string;
    progress: number | null;
    startProgress: number;
    endProgress: number | null;
    startTime: string;
    endTime: string | null;
    lastActivity: string | null;
    duration: number | null;
    goal: string | null;
    openBlockers: number;
    counts: SessionCounts;
}

export interface SessionChanged {
    folderUri: string;
    state: SessionState;
    session: SessionSummary | null;
}

export interface CapturedEntity {
    name: string;
    type: string;
    path: string | null;
    language: string | null;
    line: number | null;
}

/** An adapter that failed on an event (the event itself was recorded). */
export interface IntegrationFailure {
    integration: string;
    hook: string;
    eventId: string | null;
    error: string;
    createdAt: string;
}

/** `msp.server.flushOutbox`'s result (as `msp outbox flush --json`). */
export interface FlushReport {
    sent: string[];
    retrying: string[];
    dead: string[];
    errors: Record<string, string>;
    blocked: Record<string, string>;
    queuedLeft: number;
    deadTotal: number;
}

export interface EntitiesCaptured {
    folderUri: string;
    entities: CapturedEntity[];
}

/** A stored payload as msp-server shows it (`msp payloads --json`): envelope + kind fields. */
export interface Payload {
    id: string;
    integration: string;
    hook?: string;
    eventId?: string | null;
    status?: string;
    kind: 'cypher' | 'graphql' | 'http' | 'file' | string;
    title: string;
    [field: string]: unknown;
}

/** Full session as command results carry it (`msp status --json`). Only what we read. */
export interface SessionDetail {
    id: string;
    project: string;
    status: string;
    goal?: string | null;
    progress?: number | null;
    startProgress?: number;
    startTime: string;
    endTime?: string | null;
    blockers?: { id: string; description: string; status: string; severity?: string; category?: string }[];
    updates?: unknown[];
    decisions?: unknown[];
    entities?: unknown[];
}

/** `msp/trustChanged` params, and the flag initializationOptions carries next to `msp`. */
export interface TrustChanged {
    workspaceTrusted: boolean;
}

export interface StatusResult {
    state: SessionState;
    session: SessionDetail | null;
}

/** The record a mutating command wrote, in MSP JSON, with its kind. */
export interface RecordWritten {
    kind: 'session' | 'update' | 'decision' | 'blocker' | 'entity';
    id: string;
    [field: string]: unknown;
}

/** A mutating command's answer: what it did, O(1) in the session's size. */
export interface ActionResult {
    state: SessionState;
    session: SessionSummary | null;
    record: RecordWritten | null;
    payloads: Payload[];
    failures: IntegrationFailure[];
    redacted: string[];
}
