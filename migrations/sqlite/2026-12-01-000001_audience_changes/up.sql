-- What a person holds (the audience their orders are judged by) is kept
-- with their Not Assigned count (orders::kept_counts): every change to it
-- adds a row to worklist_changes, as order changes do, so a kept audience
-- is used only while no such change has appeared.

CREATE TRIGGER account_roles_worklist_insert AFTER INSERT ON account_roles
BEGIN
    INSERT INTO worklist_changes (changed_at) VALUES (CURRENT_TIMESTAMP);
END;

CREATE TRIGGER account_roles_worklist_delete AFTER DELETE ON account_roles
BEGIN
    INSERT INTO worklist_changes (changed_at) VALUES (CURRENT_TIMESTAMP);
END;

CREATE TRIGGER account_roles_worklist_update AFTER UPDATE ON account_roles
    WHEN OLD.role IS NOT NEW.role
      OR OLD.smart_account_id IS NOT NEW.smart_account_id
      OR OLD.user_id IS NOT NEW.user_id
BEGIN
    INSERT INTO worklist_changes (changed_at) VALUES (CURRENT_TIMESTAMP);
END;

CREATE TRIGGER role_vas_worklist_insert AFTER INSERT ON account_role_virtual_accounts
BEGIN
    INSERT INTO worklist_changes (changed_at) VALUES (CURRENT_TIMESTAMP);
END;

CREATE TRIGGER role_vas_worklist_delete AFTER DELETE ON account_role_virtual_accounts
BEGIN
    INSERT INTO worklist_changes (changed_at) VALUES (CURRENT_TIMESTAMP);
END;

CREATE TRIGGER role_vas_worklist_update AFTER UPDATE ON account_role_virtual_accounts
    WHEN OLD.account_role_id IS NOT NEW.account_role_id
      OR OLD.virtual_account_id IS NOT NEW.virtual_account_id
BEGIN
    INSERT INTO worklist_changes (changed_at) VALUES (CURRENT_TIMESTAMP);
END;

CREATE TRIGGER virtual_accounts_worklist_delete AFTER DELETE ON virtual_accounts
BEGIN
    INSERT INTO worklist_changes (changed_at) VALUES (CURRENT_TIMESTAMP);
END;

CREATE TRIGGER virtual_accounts_worklist_update AFTER UPDATE ON virtual_accounts
    WHEN OLD.smart_account_id IS NOT NEW.smart_account_id
      OR OLD.is_default IS NOT NEW.is_default
BEGIN
    INSERT INTO worklist_changes (changed_at) VALUES (CURRENT_TIMESTAMP);
END;

CREATE TRIGGER smart_accounts_worklist_update AFTER UPDATE ON smart_accounts
    WHEN OLD.kind IS NOT NEW.kind
BEGIN
    INSERT INTO worklist_changes (changed_at) VALUES (CURRENT_TIMESTAMP);
END;
