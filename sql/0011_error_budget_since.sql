-- The error budget counts the sends attempted since this instant: a resume sets it, so the
-- failures a person looked at before resuming do not pause the campaign again at the next one.
ALTER TABLE campaigns ADD COLUMN error_budget_since timestamptz;
