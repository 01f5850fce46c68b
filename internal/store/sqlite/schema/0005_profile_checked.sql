-- profile_checked records that the channel was asked for the customer's profile
-- (bot.Conversation.ProfileChecked). Until now a name of "-" meant that the channel was
-- asked and did not tell; a name meant that it told.
ALTER TABLE conversations ADD COLUMN profile_checked INTEGER NOT NULL DEFAULT 0 CHECK (profile_checked IN (0, 1));
UPDATE conversations SET profile_checked = 1, name = CASE WHEN name = '-' THEN '' ELSE name END WHERE name <> '';
