-- profile_checked records that the channel was asked for the customer's profile
-- (bot.Conversation.ProfileChecked). Until now a name of "-" meant that the channel was
-- asked and did not tell; a name meant that it told.
ALTER TABLE conversations ADD COLUMN profile_checked boolean NOT NULL DEFAULT false;
UPDATE conversations SET profile_checked = true, name = CASE WHEN name = '-' THEN '' ELSE name END WHERE name <> '';
