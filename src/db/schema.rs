// The tables, shared by the SQLite and PostgreSQL migrations.

diesel::table! {
    companies (id) {
        id -> BigInt,
        name -> Text,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    company_domains (id) {
        id -> BigInt,
        company_id -> BigInt,
        domain -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        company_id -> Nullable<BigInt>,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        notify_orders -> Bool,
        notify_reminders -> Bool,
        created_at -> Timestamp,
        last_sign_in_at -> Nullable<Timestamp>,
        email_confirmed_at -> Nullable<Timestamp>,
        is_company_admin -> Bool,
        deactivated_at -> Nullable<Timestamp>,
        requested_company_name -> Nullable<Text>,
        totp_secret -> Nullable<Text>,
        totp_enabled_at -> Nullable<Timestamp>,
        totp_last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        kind -> Text,
        dedupe_key -> Nullable<Text>,
        created_at -> Timestamp,
        next_attempt_at -> Timestamp,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_in_failures (id) {
        id -> BigInt,
        email -> Text,
        ip -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    smart_accounts (id) {
        id -> BigInt,
        name -> Text,
        domain -> Text,
        kind -> Text,
        status -> Text,
        owner_company_id -> Nullable<BigInt>,
        requested_by -> BigInt,
        approver_email -> Text,
        domain_edited -> Bool,
        duplicate_reason -> Nullable<Text>,
        company_name -> Nullable<Text>,
        country -> Nullable<Text>,
        address -> Nullable<Text>,
        state_province -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        rejection_reason -> Nullable<Text>,
        agreement_accepted_at -> Nullable<Timestamp>,
        agreement_accepted_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        activated_at -> Nullable<Timestamp>,
        version -> Integer,
        name_key -> Text,
    }
}

diesel::table! {
    virtual_accounts (id) {
        id -> BigInt,
        smart_account_id -> BigInt,
        name -> Text,
        name_key -> Text,
        description -> Text,
        is_public -> Bool,
        is_default -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    account_roles (id) {
        id -> BigInt,
        smart_account_id -> BigInt,
        user_id -> BigInt,
        role -> Text,
        partner_access -> Bool,
        granted_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    account_role_virtual_accounts (account_role_id, virtual_account_id) {
        account_role_id -> BigInt,
        virtual_account_id -> BigInt,
    }
}

diesel::table! {
    account_nominations (id) {
        id -> BigInt,
        smart_account_id -> BigInt,
        email -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    setup_links (id) {
        id -> BigInt,
        smart_account_id -> BigInt,
        token_hash -> Text,
        email -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    access_requests (id) {
        id -> BigInt,
        smart_account_id -> BigInt,
        user_id -> BigInt,
        message -> Text,
        status -> Text,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    account_events (id) {
        id -> BigInt,
        smart_account_id -> BigInt,
        virtual_account_id -> Nullable<BigInt>,
        actor_user_id -> Nullable<BigInt>,
        kind -> Text,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    products (id) {
        id -> BigInt,
        sku -> Text,
        name -> Text,
        category -> Text,
        sa_requirement -> Text,
        configurable -> Bool,
        unit_price_cents -> BigInt,
        license_name -> Nullable<Text>,
    }
}

diesel::table! {
    product_components (id) {
        id -> BigInt,
        product_id -> BigInt,
        component_id -> BigInt,
        quantity -> Integer,
    }
}

diesel::table! {
    orders (id) {
        id -> BigInt,
        company_id -> BigInt,
        created_by -> BigInt,
        name -> Text,
        end_customer_name -> Text,
        end_customer_domain -> Text,
        order_type -> Text,
        status -> Text,
        internal -> Bool,
        holding_account_id -> Nullable<BigInt>,
        default_account_id -> Nullable<BigInt>,
        default_virtual_account_id -> Nullable<BigInt>,
        associated_holding_account_id -> Nullable<BigInt>,
        sales_order_number -> Nullable<Text>,
        created_at -> Timestamp,
        converted_at -> Nullable<Timestamp>,
        submitted_at -> Nullable<Timestamp>,
        booked_at -> Nullable<Timestamp>,
        shipped_at -> Nullable<Timestamp>,
        licenses_due_at -> Nullable<Timestamp>,
        version -> Integer,
        sa_rank -> Integer,
        waiting_since -> Nullable<Timestamp>,
        assigned_at -> Nullable<Timestamp>,
        holding_virtual_account_id -> Nullable<BigInt>,
        handoff_company_id -> Nullable<BigInt>,
        handoff_at -> Nullable<Timestamp>,
        end_customer_key -> Text,
        holding_name_key -> Text,
        reminders_sent -> Integer,
        customer_account_id -> Nullable<BigInt>,
        holding_name -> Text,
    }
}

diesel::table! {
    order_lines (id) {
        id -> BigInt,
        order_id -> BigInt,
        line_no -> Integer,
        parent_line_id -> Nullable<BigInt>,
        product_id -> BigInt,
        quantity -> Integer,
        unit_price_cents -> BigInt,
        account_id -> Nullable<BigInt>,
        virtual_account_id -> Nullable<BigInt>,
        licenses_deposited_at -> Nullable<Timestamp>,
        pak_code -> Nullable<Text>,
    }
}

diesel::table! {
    assignment_events (id) {
        id -> BigInt,
        order_id -> BigInt,
        line_id -> Nullable<BigInt>,
        actor_user_id -> Nullable<BigInt>,
        how -> Text,
        target -> Text,
        from_label -> Text,
        to_label -> Text,
        created_at -> Timestamp,
        masked -> Bool,
    }
}

diesel::table! {
    mixed_order_accounts (order_id, account_id) {
        order_id -> BigInt,
        account_id -> BigInt,
    }
}

diesel::table! {
    cases (id) {
        id -> BigInt,
        order_id -> BigInt,
        opened_by -> BigInt,
        reason -> Text,
        target_account_id -> BigInt,
        target_virtual_account_id -> Nullable<BigInt>,
        line_ids -> Text,
        status -> Text,
        resolution -> Text,
        resolved_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    licenses (id) {
        id -> BigInt,
        smart_account_id -> BigInt,
        virtual_account_id -> BigInt,
        license_name -> Text,
        quantity -> Integer,
        in_use -> Integer,
        order_line_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        claimed_at -> Nullable<Timestamp>,
        claimed_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    license_movements (id) {
        id -> BigInt,
        smart_account_id -> BigInt,
        order_line_id -> Nullable<BigInt>,
        license_name -> Text,
        from_virtual_account_id -> Nullable<BigInt>,
        to_virtual_account_id -> Nullable<BigInt>,
        quantity -> Integer,
        how -> Text,
        reason -> Text,
        actor_user_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    registration_tokens (id) {
        id -> BigInt,
        smart_account_id -> BigInt,
        virtual_account_id -> BigInt,
        description -> Text,
        token_hash -> Text,
        token_hint -> Text,
        export_controlled -> Bool,
        max_uses -> Nullable<Integer>,
        uses -> Integer,
        expires_at -> Timestamp,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    devices (id) {
        id -> BigInt,
        smart_account_id -> BigInt,
        virtual_account_id -> BigInt,
        token_id -> Nullable<BigInt>,
        name -> Text,
        name_key -> Text,
        product_id -> BigInt,
        license_name -> Text,
        licenses -> Integer,
        secret_hash -> Text,
        registered_at -> Timestamp,
        last_contact_at -> Timestamp,
        removed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    license_figures (id) {
        id -> BigInt,
        smart_account_id -> BigInt,
        virtual_account_id -> BigInt,
        license_name -> Text,
        in_use -> BigInt,
        owned -> BigInt,
    }
}

diesel::table! {
    license_shortages (id) {
        id -> BigInt,
        smart_account_id -> BigInt,
        virtual_account_id -> BigInt,
        license_name -> Text,
        shortage -> Integer,
        started_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    license_usage_daily (id) {
        id -> BigInt,
        smart_account_id -> BigInt,
        virtual_account_id -> BigInt,
        license_name -> Text,
        day -> Date,
        owned -> Integer,
        in_use -> Integer,
    }
}

diesel::table! {
    user_sessions (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        ip -> Text,
        user_agent -> Text,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        purpose -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    membership_requests (id) {
        id -> BigInt,
        user_id -> BigInt,
        company_id -> BigInt,
        status -> Text,
        created_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        decided_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    invitations (id) {
        id -> BigInt,
        company_id -> BigInt,
        email -> Text,
        invited_by -> BigInt,
        token_hash -> Text,
        smart_account_id -> Nullable<BigInt>,
        role -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
        withdrawn_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    security_events (id) {
        id -> BigInt,
        user_id -> Nullable<BigInt>,
        company_id -> Nullable<BigInt>,
        actor_user_id -> Nullable<BigInt>,
        kind -> Text,
        detail -> Text,
        ip -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(company_domains -> companies (company_id));
diesel::joinable!(users -> companies (company_id));
diesel::joinable!(user_sessions -> users (user_id));
diesel::joinable!(user_tokens -> users (user_id));
diesel::joinable!(membership_requests -> users (user_id));
diesel::joinable!(membership_requests -> companies (company_id));
diesel::joinable!(invitations -> companies (company_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(virtual_accounts -> smart_accounts (smart_account_id));
diesel::joinable!(account_roles -> smart_accounts (smart_account_id));
diesel::joinable!(account_roles -> users (user_id));
diesel::joinable!(account_role_virtual_accounts -> account_roles (account_role_id));
diesel::joinable!(account_role_virtual_accounts -> virtual_accounts (virtual_account_id));
diesel::joinable!(access_requests -> smart_accounts (smart_account_id));
diesel::joinable!(access_requests -> users (user_id));
diesel::joinable!(account_events -> smart_accounts (smart_account_id));
diesel::joinable!(account_nominations -> smart_accounts (smart_account_id));
diesel::joinable!(order_lines -> orders (order_id));
diesel::joinable!(order_lines -> products (product_id));
diesel::joinable!(orders -> companies (company_id));
diesel::joinable!(assignment_events -> orders (order_id));
diesel::joinable!(cases -> orders (order_id));
diesel::joinable!(licenses -> smart_accounts (smart_account_id));
diesel::joinable!(licenses -> virtual_accounts (virtual_account_id));
diesel::joinable!(registration_tokens -> virtual_accounts (virtual_account_id));
diesel::joinable!(devices -> virtual_accounts (virtual_account_id));
diesel::joinable!(devices -> products (product_id));
diesel::joinable!(license_shortages -> virtual_accounts (virtual_account_id));
diesel::joinable!(license_usage_daily -> virtual_accounts (virtual_account_id));

diesel::table! {
    worklist_changes (id) {
        id -> BigInt,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    license_deposits_due (order_id) {
        order_id -> BigInt,
        due_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    cases,
    mixed_order_accounts,
    companies,
    company_domains,
    users,
    user_sessions,
    user_tokens,
    membership_requests,
    invitations,
    recovery_codes,
    security_events,
    outbox,
    sign_in_failures,
    smart_accounts,
    virtual_accounts,
    account_roles,
    account_role_virtual_accounts,
    account_nominations,
    setup_links,
    access_requests,
    account_events,
    products,
    product_components,
    orders,
    order_lines,
    assignment_events,
    licenses,
    license_movements,
    registration_tokens,
    devices,
    license_figures,
    license_shortages,
    license_usage_daily,
    license_deposits_due
);
