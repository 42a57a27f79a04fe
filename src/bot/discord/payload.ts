/**
 * The parts of Discord's interaction payload we act on, validated with zod at the edge
 * (both transports hand us the same JSON: the HTTP body, or the gateway's
 * INTERACTION_CREATE `d`).
 */
import { z } from 'zod';

const user = z.object({
  id: z.string().min(1),
  username: z.string(),
  global_name: z.string().nullish(),
});

export const interactionSchema = z.object({
  id: z.string().min(1),
  application_id: z.string().min(1),
  type: z.number().int(),
  token: z.string(),
  guild_id: z.string().optional(),
  channel_id: z.string().optional(),
  /** The channel the interaction happened in (partial): threads name their parent. */
  channel: z.object({ id: z.string(), type: z.number().int(), parent_id: z.string().nullish() }).optional(),
  member: z
    .object({
      user,
      nick: z.string().nullish(),
      roles: z.array(z.string()).default([]),
    })
    .optional(),
  user: user.optional(),
  data: z.unknown().optional(),
  message: z.object({ id: z.string(), channel_id: z.string() }).optional(),
});

export type Interaction = z.infer<typeof interactionSchema>;

export interface CommandOption {
  name: string;
  type: number;
  value?: string | number | boolean;
  options?: CommandOption[];
}

const commandOption: z.ZodType<CommandOption> = z.lazy(() =>
  z.object({
    name: z.string(),
    type: z.number().int(),
    value: z.union([z.string(), z.number(), z.boolean()]).optional(),
    options: z.array(commandOption).optional(),
  }),
);

export const commandDataSchema = z.object({
  name: z.string(),
  options: z.array(commandOption).default([]),
});

export const componentDataSchema = z.object({ custom_id: z.string(), component_type: z.number().int() });

/** Modal submit data; inputs sit in action rows (type 1) or labels (type 18). */
export const modalDataSchema = z.object({
  custom_id: z.string(),
  components: z.array(
    z.object({
      type: z.number().int(),
      components: z.array(z.object({ custom_id: z.string().optional(), value: z.string().optional() })).optional(),
      component: z.object({ custom_id: z.string().optional(), value: z.string().optional() }).optional(),
    }),
  ),
});

/** The value typed into the modal's text input `inputId`, if present. */
export function modalValue(data: z.infer<typeof modalDataSchema>, inputId: string): string | undefined {
  for (const c of data.components) {
    for (const input of [...(c.components ?? []), ...(c.component ? [c.component] : [])]) {
      if (input.custom_id === inputId) return input.value ?? '';
    }
  }
  return undefined;
}
