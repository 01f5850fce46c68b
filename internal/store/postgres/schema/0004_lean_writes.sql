-- conversations_updated_at served no query, yet every save of a conversation updated it.
DROP INDEX conversations_updated_at;
