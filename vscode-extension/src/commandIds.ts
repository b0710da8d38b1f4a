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
} as const;

/** Commands that need an argument and so stay out of the command palette. */
export const HIDDEN_FROM_PALETTE: readonly CommandKey[] = ['copyPayload'];

export type CommandKey = keyof typeof COMMANDS;

/** "MSP: Start Session": the label the command palette shows. */
export function paletteLabel(key: CommandKey): string {
    return `${CATEGORY}: ${COMMANDS[key].title}`;
}
