/**
 * Every function's handler module, imported statically (the modules compose on demand, so
 * nothing here depends on the environment or on import order). serverless.yml names the
 * functions; test/local/functions.test.ts fails when one of them is missing here.
 */
import * as assessFinding from '../functions/assess-finding/handler.ts';
import * as checkDrillSchedule from '../functions/check-drill-schedule/handler.ts';
import * as checkFailbackSnapshots from '../functions/check-failback-snapshots/handler.ts';
import * as checkMachine from '../functions/check-machine/handler.ts';
import * as checkPointScans from '../functions/check-point-scans/handler.ts';
import * as checkProtection from '../functions/check-protection/handler.ts';
import * as cleanupTestMachines from '../functions/cleanup-test-machines/handler.ts';
import * as decideSlackAction from '../functions/decide-slack-action/handler.ts';
import * as finishAbortedDrill from '../functions/finish-aborted-drill/handler.ts';
import * as launchMachine from '../functions/launch-machine/handler.ts';
import * as manageIncident from '../functions/manage-incident/handler.ts';
import * as notify from '../functions/notify/handler.ts';
import * as planFailover from '../functions/plan-failover/handler.ts';
import * as postDecision from '../functions/post-decision/handler.ts';
import * as prepareFailback from '../functions/prepare-failback/handler.ts';
import * as receiveSlackAction from '../functions/receive-slack-action/handler.ts';
import * as recordDrill from '../functions/record-drill/handler.ts';
import * as recordFailback from '../functions/record-failback/handler.ts';
import * as recordOutcome from '../functions/record-outcome/handler.ts';
import * as recordRecoveryPoint from '../functions/record-recovery-point/handler.ts';
import * as recordScanVerdict from '../functions/record-scan-verdict/handler.ts';
import * as requestApproval from '../functions/request-approval/handler.ts';
import * as retireRunMachines from '../functions/retire-run-machines/handler.ts';
import * as reviewRun from '../functions/review-run/handler.ts';
import * as reviseProposal from '../functions/revise-proposal/handler.ts';
import * as runAcceptanceChecks from '../functions/run-acceptance-checks/handler.ts';
import * as selectRecoveryPoints from '../functions/select-recovery-points/handler.ts';
import * as showApproval from '../functions/show-approval/handler.ts';
import * as startDrill from '../functions/start-drill/handler.ts';
import * as startPointScans from '../functions/start-point-scans/handler.ts';
import type { HandlerModule } from '../functions/shared/compose.ts';

/** By handler file (serverless.yml `handler:` without the export name). */
export const HANDLER_MODULES: Readonly<Record<string, HandlerModule>> = {
  'functions/assess-finding/handler': assessFinding,
  'functions/check-drill-schedule/handler': checkDrillSchedule,
  'functions/check-failback-snapshots/handler': checkFailbackSnapshots,
  'functions/check-machine/handler': checkMachine,
  'functions/check-point-scans/handler': checkPointScans,
  'functions/check-protection/handler': checkProtection,
  'functions/cleanup-test-machines/handler': cleanupTestMachines,
  'functions/decide-slack-action/handler': decideSlackAction,
  'functions/finish-aborted-drill/handler': finishAbortedDrill,
  'functions/launch-machine/handler': launchMachine,
  'functions/manage-incident/handler': manageIncident,
  'functions/notify/handler': notify,
  'functions/plan-failover/handler': planFailover,
  'functions/post-decision/handler': postDecision,
  'functions/prepare-failback/handler': prepareFailback,
  'functions/receive-slack-action/handler': receiveSlackAction,
  'functions/record-drill/handler': recordDrill,
  'functions/record-failback/handler': recordFailback,
  'functions/record-outcome/handler': recordOutcome,
  'functions/record-recovery-point/handler': recordRecoveryPoint,
  'functions/record-scan-verdict/handler': recordScanVerdict,
  'functions/request-approval/handler': requestApproval,
  'functions/retire-run-machines/handler': retireRunMachines,
  'functions/review-run/handler': reviewRun,
  'functions/revise-proposal/handler': reviseProposal,
  'functions/run-acceptance-checks/handler': runAcceptanceChecks,
  'functions/select-recovery-points/handler': selectRecoveryPoints,
  'functions/show-approval/handler': showApproval,
  'functions/start-drill/handler': startDrill,
  'functions/start-point-scans/handler': startPointScans,
};
