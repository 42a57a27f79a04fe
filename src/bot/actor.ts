/** Who is acting on a card or running a command, as every surface describes them. */
import type { Surface } from '../db/queries/audit.ts';

export interface Actor {
  /** The surface's own user id (Slack U123, Discord snowflake, console user). */
  id: string;
  /** A display name, recorded in approved_by / rejected_by / edited_by and the audit log. */
  name: string;
  surface: Surface;
  /** May approve, reject, edit, and run mutating /campaign subcommands. */
  isApprover: boolean;
}
