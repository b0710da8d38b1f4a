/** The extension's own palette commands (`msp.<verb>`): ids and titles, as package.json lists them. */

export const CATEGORY = 'MSP';

export const COMMANDS = {
    startSession: { id: 'msp.startSession', title: 'Start Session' },
    updateProgress: { id: 'msp.updateProgress', title: 'Update Progress' },
    recordDecision: { id: 'msp.recordDecision', title: 'Record Decision' },
    recordBlocker: { id: 'msp.recordBlocker', title: 'Record Blocker' },
    resolveBlocker: { id: 'msp.resolveBlocker', title: 'Resolve Blocker' },
    recordEntity: { id: 'msp.recordEntity', title: 'Record Entity' },
    endSession: { id: 'msp.endSession', title: 'End Session' },
    showStatus: { id: 'msp.showStatus', title: 'Show Status' },
    exportContext: { id: 'msp.exportContext', title: 'Export Context' },
    recoverSession: { id: 'msp.recoverSession', title: 'Recover Session' },
    showPayloads: { id: 'msp.showPayloads', title: 'Show Payloads' },
    sendPayload: { id: 'msp.sendPayload', title: 'Send Payload' },
    flushOutbox: { id: 'msp.flushOutbox', title: 'Flush Outbox' },
    setCredential: { id: 'msp.setCredential', title: 'Set Credential' },
    trustFolderConfig: { id: 'msp.trustFolderConfig', title: 'Trust Folder Configuration' },
    validateIntegrations: { id: 'msp.validateIntegrations', title: 'Validate Integrations' },
    generateCommitMessage: { id: 'msp.generateCommitMessage', title: 'Generate Commit Message' },
    showLog: { id: 'msp.showLog', title: 'Show Log' },
    restartServer: { id: 'msp.restartServer', title: 'Restart Server' },
    sessionActions: { id: 'msp.sessionActions', title: 'Session Actions' },
    /** Called by the server's code actions with `{folderUri, id}` (wire.json clientCommands). */
    copyPayload: { id: 'msp.copyPayload', title: 'Copy Payload' },
    /** Called by the server's code actions with a record id (wire.json clientCommands). */
    showInView: { id: 'msp.showInView', title: 'Show in MSP View' },
    // -- the MSP view's item and title actions, and the msp: documents' title actions --------
    refreshView: { id: 'msp.refreshView', title: 'Refresh' },
    refreshTeam: { id: 'msp.refreshTeam', title: 'Refresh Team' },
    resolveBlockerItem: { id: 'msp.resolveBlockerItem', title: 'Resolve' },
    copyPayloadItem: { id: 'msp.copyPayloadItem', title: 'Copy' },
    openPayloadItem: { id: 'msp.openPayloadItem', title: 'Open' },
    sendPayloadItem: { id: 'msp.sendPayloadItem', title: 'Send' },
    retryPayloadItem: { id: 'msp.retryPayloadItem', title: 'Retry' },
    copyDocument: { id: 'msp.copyDocument', title: 'Copy' },
    saveDocumentAs: { id: 'msp.saveDocumentAs', title: 'Save As…' },
    /** Registered by report.ts (extension.ts), not by commands.ts. */
    weeklyReport: { id: 'msp.weeklyReport', title: 'Weekly Report' },
} as const;

/** The commands commands.ts registers: all but weeklyReport (report.ts registers it). */
export type OwnCommandKey = Exclude<CommandKey, 'weeklyReport'>;

/** Commands that need an argument (a view item, a document) and so stay out of the palette. */
export const HIDDEN_FROM_PALETTE: readonly CommandKey[] = [
    'copyPayload',
    'showInView',
    'sessionActions',
    'resolveBlockerItem',
    'copyPayloadItem',
    'openPayloadItem',
    'sendPayloadItem',
    'retryPayloadItem',
    'copyDocument',
    'saveDocumentAs',
];

const RUNNING = 'msp.serverRunning';
const ACTIVE = `${RUNNING} && msp.sessionState == active`;

/**
 * When a palette command is offered (package.json menus.commandPalette; contract-tested): only
 * what applies to the session's state, Start Session first when idle. Commands not listed are
 * always offered (the log, a restart, credentials, trust).
 */
export const PALETTE_WHEN: Partial<Record<CommandKey, string>> = {
    startSession: `${RUNNING} && msp.sessionState == idle`,
    updateProgress: ACTIVE,
    recordDecision: ACTIVE,
    recordBlocker: ACTIVE,
    resolveBlocker: `${ACTIVE} && msp.hasOpenBlockers`,
    recordEntity: ACTIVE,
    endSession: `${RUNNING} && msp.sessionState != idle`,
    recoverSession: `${RUNNING} && msp.sessionState != active`,
    showStatus: RUNNING,
    exportContext: RUNNING,
    showPayloads: RUNNING,
    sendPayload: RUNNING,
    flushOutbox: RUNNING,
    validateIntegrations: RUNNING,
    generateCommitMessage: RUNNING,
    refreshView: RUNNING,
    refreshTeam: RUNNING,
    weeklyReport: RUNNING,
};

export type CommandKey = keyof typeof COMMANDS;

/** "MSP: Start Session": the label the command palette shows. */
export function paletteLabel(key: CommandKey): string {
    return `${CATEGORY}: ${COMMANDS[key].title}`;
}
