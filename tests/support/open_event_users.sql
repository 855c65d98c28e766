-- The `users` table of the FOSSASIA Open Event server, as that server creates it in
-- PostgreSQL: for tests of the lab's shared-accounts mode against a real event-server table.
--
-- Sources read (github.com/fossasia/open-event-server, development branch):
--   app/models/user.py   @ cdd30cb1b877a2573f3b5417eb829b93ca3ce5c5  class User, its columns
--   app/models/base.py   @ 1f72b4563a4449ba5660480e8aed4e3c429aacfe  SoftDeletionModel: deleted_at
--   create_db.py         @ 28be6ca05edcb106b94a5bd583fc001a491b5e0e  a new install runs
--                        `create extension if not exists citext`, then `db.create_all()`
--                        (then stamps the Alembic head), so the table is SQLAlchemy's DDL for
--                        the model, which is what follows (compiled with the postgresql dialect).
--   pull requests #5728 (case-insensitive e-mail: `_email` became citext) and #6188/#6189
--   (the migration creates the citext extension if missing).
--
-- What this means for the lab:
--   * `_email` is CITEXT with a plain UNIQUE constraint: uniqueness and `=` ignore case,
--     the stored value keeps the case it was written with.
--   * Python-side defaults of the model (`default=False` on the flags, `default=func.now()`
--     on created_at) are not in the table: a writer must supply them. `is_blocked` is
--     NOT NULL without a server default: always insert it explicitly. Only
--     `is_profile_public` has a server default.
--   * A database brought up through the event server's Alembic migrations instead of
--     create_all may differ in server defaults and constraint names (not checked: the
--     migrations folder has 700+ revisions). Column order follows the model; it does not
--     matter to the lab, which always names its columns.
--   * Not reproduced: the foreign keys other event-server tables hold on users.id.

CREATE EXTENSION IF NOT EXISTS citext;

CREATE TABLE users (
    id SERIAL NOT NULL,
    _email CITEXT NOT NULL,
    _password VARCHAR(128) NOT NULL,
    facebook_id BIGINT,
    facebook_login_hash VARCHAR,
    reset_password VARCHAR(128),
    salt VARCHAR(128),
    avatar_url VARCHAR,
    tokens TEXT,
    first_name VARCHAR,
    last_name VARCHAR,
    details VARCHAR,
    contact VARCHAR,
    facebook_url VARCHAR,
    twitter_url VARCHAR,
    instagram_url VARCHAR,
    google_plus_url VARCHAR,
    original_image_url VARCHAR,
    thumbnail_image_url VARCHAR,
    small_image_url VARCHAR,
    icon_image_url VARCHAR,
    is_super_admin BOOLEAN,
    is_admin BOOLEAN,
    is_sales_admin BOOLEAN,
    is_marketer BOOLEAN,
    is_verified BOOLEAN,
    is_blocked BOOLEAN NOT NULL,
    is_profile_public BOOLEAN DEFAULT 'False' NOT NULL,
    public_name VARCHAR,
    was_registered_with_order BOOLEAN,
    last_accessed_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE,
    billing_contact_name VARCHAR,
    billing_phone VARCHAR,
    billing_state VARCHAR,
    billing_country VARCHAR,
    billing_tax_info VARCHAR,
    company VARCHAR,
    billing_address VARCHAR,
    billing_city VARCHAR,
    language_prefrence VARCHAR,
    billing_zip_code VARCHAR,
    billing_additional_info VARCHAR,
    rocket_chat_token VARCHAR,
    deleted_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (_email),
    UNIQUE (facebook_id)
);
