-- What a person holds (the audience their orders are judged by) is kept
-- with their Not Assigned count (orders::kept_counts): every change to it
-- adds a row to worklist_changes, as order changes do, so a kept audience
-- is used only while no such change has appeared.

CREATE TRIGGER account_roles_worklist_insert AFTER INSERT ON account_roles FOR EACH ROW
    EXECUTE FUNCTION worklist_changed();

CREATE TRIGGER account_roles_worklist_delete AFTER DELETE ON account_roles FOR EACH ROW
    EXECUTE FUNCTION worklist_changed();

CREATE TRIGGER account_roles_worklist_update AFTER UPDATE ON account_roles FOR EACH ROW
    WHEN (OLD.role IS DISTINCT FROM NEW.role
       OR OLD.smart_account_id IS DISTINCT FROM NEW.smart_account_id
       OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION worklist_changed();

CREATE TRIGGER role_vas_worklist_insert AFTER INSERT ON account_role_virtual_accounts FOR EACH ROW
    EXECUTE FUNCTION worklist_changed();

CREATE TRIGGER role_vas_worklist_delete AFTER DELETE ON account_role_virtual_accounts FOR EACH ROW
    EXECUTE FUNCTION worklist_changed();

CREATE TRIGGER role_vas_worklist_update AFTER UPDATE ON account_role_virtual_accounts FOR EACH ROW
    WHEN (OLD.account_role_id IS DISTINCT FROM NEW.account_role_id
       OR OLD.virtual_account_id IS DISTINCT FROM NEW.virtual_account_id)
    EXECUTE FUNCTION worklist_changed();

CREATE TRIGGER virtual_accounts_worklist_delete AFTER DELETE ON virtual_accounts FOR EACH ROW
    EXECUTE FUNCTION worklist_changed();

CREATE TRIGGER virtual_accounts_worklist_update AFTER UPDATE ON virtual_accounts FOR EACH ROW
    WHEN (OLD.smart_account_id IS DISTINCT FROM NEW.smart_account_id
       OR OLD.is_default IS DISTINCT FROM NEW.is_default)
    EXECUTE FUNCTION worklist_changed();

CREATE TRIGGER smart_accounts_worklist_update AFTER UPDATE ON smart_accounts FOR EACH ROW
    WHEN (OLD.kind IS DISTINCT FROM NEW.kind)
    EXECUTE FUNCTION worklist_changed();
