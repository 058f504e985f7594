-- The product-message hot path as server-side functions, so that a message costs one round trip
-- to the database for its whole effect (transport authorize) instead of one per statement.
-- Refusals are raised as exceptions with the protocol's error code as the message (SQLSTATE P0001),
-- so they roll back everything the message did, its idempotency claim included.

-- Replaces an instance's reported usage rows and returns the change per tag. Only counts above
-- zero are stored. The caller holds the instance's row lock and moves the totals (slm_move_totals).
CREATE FUNCTION slm_write_usage(p_instance uuid, p_tags text[], p_counts int[], OUT tags text[], OUT deltas int[])
LANGUAGE plpgsql AS $$
BEGIN
  WITH old AS (
    SELECT u.tag, u.count FROM usage u WHERE u.product_instance_id = p_instance
  ), reported AS (
    SELECT t.tag, t.count FROM unnest(p_tags, p_counts) AS t(tag, count) WHERE t.count > 0
  ), dropped AS (
    DELETE FROM usage u WHERE u.product_instance_id = p_instance AND u.tag NOT IN (SELECT r.tag FROM reported r)
  ), written AS (
    INSERT INTO usage (product_instance_id, tag, count) SELECT p_instance, r.tag, r.count FROM reported r
    ON CONFLICT (product_instance_id, tag) DO UPDATE SET count = EXCLUDED.count
  )
  SELECT coalesce(array_agg(c.tag ORDER BY c.tag), '{}'), coalesce(array_agg(c.d ORDER BY c.tag), '{}') INTO tags, deltas
    FROM (SELECT x.tag, SUM(x.d)::int AS d FROM (
            SELECT o.tag, -o.count AS d FROM old o UNION ALL SELECT r.tag, r.count FROM reported r
          ) x GROUP BY x.tag HAVING SUM(x.d) <> 0) c;
END $$;

-- Moves a virtual account's in-use totals by the given changes. Rows are locked in tag order, so
-- concurrent changes sharing tags cannot deadlock; a total that drops to zero is removed, so ever
-- new tags reported and dropped leave nothing behind.
CREATE FUNCTION slm_move_totals(p_virtual_account uuid, p_tags text[], p_deltas int[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_zero text[];
BEGIN
  WITH moved AS (
    INSERT INTO usage_total (virtual_account_id, tag, in_use)
    SELECT p_virtual_account, d.tag, d.d FROM unnest(p_tags, p_deltas) AS d(tag, d) ORDER BY d.tag
    ON CONFLICT (virtual_account_id, tag) DO UPDATE SET in_use = usage_total.in_use + EXCLUDED.in_use
    RETURNING usage_total.tag, usage_total.in_use
  )
  SELECT array_agg(m.tag) INTO v_zero FROM moved m WHERE m.in_use = 0;
  IF v_zero IS NOT NULL THEN
    -- Rows this statement just wrote, so locked by this transaction: nobody changed them since.
    DELETE FROM usage_total t WHERE t.virtual_account_id = p_virtual_account AND t.tag = ANY(v_zero) AND t.in_use = 0;
  END IF;
END $$;

-- Replaces the usage of an instance whose row lock the caller holds, totals included.
CREATE FUNCTION slm_replace_usage(p_instance uuid, p_virtual_account uuid, p_tags text[], p_counts int[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_change record;
BEGIN
  SELECT * INTO v_change FROM slm_write_usage(p_instance, p_tags, p_counts);
  PERFORM slm_move_totals(p_virtual_account, v_change.tags, v_change.deltas);
END $$;

-- Zero totals left by earlier versions.
DELETE FROM usage_total WHERE in_use = 0;
DELETE FROM usage WHERE count = 0;

-- Claims (sender, jti) for idempotency in the caller's transaction: NULL when this message is new,
-- else {"stored": ...} with what the first copy recorded (a resend gets the stored answer).
CREATE FUNCTION slm_claim_message(p_sender text, p_jti text, p_request_hash text, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO idempotency_record (sender, jti, request_hash, http_status, body, created_at)
  VALUES (p_sender, p_jti, p_request_hash, 0, '{}'::jsonb, p_now)
  ON CONFLICT DO NOTHING;
  IF FOUND THEN
    RETURN NULL;
  END IF;
  RETURN (SELECT jsonb_build_object('stored', jsonb_build_object('requestHash', r.request_hash, 'httpStatus', r.http_status, 'body', r.body))
            FROM idempotency_record r WHERE r.sender = p_sender AND r.jti = p_jti);
END;
$$;

-- A transport authorize, first statement: claims (sender, jti) for idempotency, checks the Host
-- Common Name and the instance (locking its row while recording the contact), bounds the number
-- of distinct unknown tags in use in its virtual account, replaces its usage rows, and returns
-- the change to the totals and what compliance needs: the virtual account's license lines, its
-- totals with this change, and which reported tags any license on this server sells. The totals
-- themselves move in slm_transport_answer, the transaction's last statement, so their hot rows
-- (every product of a virtual account reports the same few tags) stay locked only from there to
-- the commit. A (sender, jti) already claimed returns {"stored": ...} and changes nothing.
-- p_key_pem is the key the caller verified the message with: if the instance's key changed since,
-- it raises KEY_CHANGED and the caller looks the instance up again.
CREATE FUNCTION slm_transport_authorize(
  p_sender text, p_jti text, p_request_hash text, p_aud text, p_instance uuid, p_key_pem text,
  p_tags text[], p_counts int[], p_now timestamptz, p_max_unknown_tags int)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_stored jsonb;
  v_hcn text;
  v_va uuid;
  v_status text;
  v_not_after timestamptz;
  v_key text;
  v_new_unknown int;
  v_change record;
BEGIN
  v_stored := slm_claim_message(p_sender, p_jti, p_request_hash, p_now);
  IF v_stored IS NOT NULL THEN
    RETURN v_stored;
  END IF;

  SELECT s.value #>> '{}' INTO v_hcn FROM setting s WHERE s.key = 'hostCommonName';
  IF v_hcn IS DISTINCT FROM p_aud THEN
    RAISE EXCEPTION 'HOST_COMMON_NAME_MISMATCH %', coalesce(v_hcn, '');
  END IF;

  UPDATE product_instance p SET last_contact_at = p_now WHERE p.id = p_instance
  RETURNING p.virtual_account_id, p.status::text, p.cert_not_after, p.public_key_pem INTO v_va, v_status, v_not_after, v_key;
  IF NOT FOUND THEN RAISE EXCEPTION 'UNKNOWN_PRODUCT_INSTANCE'; END IF;
  IF v_key <> p_key_pem THEN RAISE EXCEPTION 'KEY_CHANGED'; END IF;
  IF v_status <> 'REGISTERED' THEN RAISE EXCEPTION 'PRODUCT_INSTANCE_DEREGISTERED'; END IF;
  IF v_not_after <= p_now THEN RAISE EXCEPTION 'CERTIFICATE_EXPIRED'; END IF;

  -- Unknown tags (sold by no license on this server) this report would add to the virtual account.
  SELECT count(*) INTO v_new_unknown
    FROM unnest(p_tags, p_counts) AS t(tag, count)
   WHERE t.count > 0
     AND NOT EXISTS (SELECT FROM license l WHERE l.tag = t.tag)
     AND NOT EXISTS (SELECT FROM usage_total u WHERE u.virtual_account_id = v_va AND u.tag = t.tag);
  IF v_new_unknown > 0 AND v_new_unknown + (
       SELECT count(*) FROM usage_total u
        WHERE u.virtual_account_id = v_va AND NOT EXISTS (SELECT FROM license l WHERE l.tag = u.tag)) > p_max_unknown_tags THEN
    RAISE EXCEPTION 'TOO_MANY_UNKNOWN_TAGS';
  END IF;

  SELECT * INTO v_change FROM slm_write_usage(p_instance, p_tags, p_counts);

  RETURN jsonb_build_object(
    'virtualAccountId', v_va,
    'tags', to_jsonb(v_change.tags),
    'deltas', to_jsonb(v_change.deltas),
    'lines', coalesce((
      SELECT jsonb_agg(jsonb_build_object('tag', l.tag, 'displayName', l.display_name, 'billingType', l.billing_type,
                                          'quantity', l.quantity, 'startsAt', l.starts_at, 'endsAt', l.ends_at,
                                          'family', l.family, 'tier', l.tier) ORDER BY l.created_at, l.id)
        FROM license l WHERE l.virtual_account_id = v_va), '[]'::jsonb),
    -- The committed totals with this report's change, read without locking them (see slm_transport_answer).
    'inUse', coalesce((
      SELECT jsonb_object_agg(x.tag, x.in_use) FROM (
        SELECT coalesce(u.tag, c.tag) AS tag, coalesce(u.in_use, 0) + coalesce(c.d, 0) AS in_use
          FROM (SELECT * FROM usage_total WHERE virtual_account_id = v_va) u
          FULL JOIN unnest(v_change.tags, v_change.deltas) AS c(tag, d) ON c.tag = u.tag) x), '{}'::jsonb),
    'sold', coalesce((SELECT jsonb_agg(DISTINCT l.tag) FROM license l WHERE l.tag = ANY(p_tags)), '[]'::jsonb));
END $$;

-- A transport authorize, last statement: moves the totals and stores the signed answer.
CREATE FUNCTION slm_transport_answer(p_sender text, p_jti text, p_body jsonb, p_virtual_account uuid, p_tags text[], p_deltas int[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM slm_move_totals(p_virtual_account, p_tags, p_deltas);
  UPDATE idempotency_record SET http_status = 200, body = p_body WHERE sender = p_sender AND jti = p_jti;
END $$;

-- Uses a registration token once, if it is usable: not revoked, not expired, of an active account,
-- uses left. A single conditional UPDATE: concurrent uses queue on the row and re-check, so a token
-- is never used more often than allowed. No row when refused (the caller finds out why).
CREATE FUNCTION slm_use_token(p_token uuid, p_virtual_account uuid, p_now timestamptz)
RETURNS TABLE ("tokenId" text, "virtualAccountId" text, "virtualAccountName" text, "accountId" text,
               "accountName" text, "smartAccount" text, "exportControlled" boolean)
LANGUAGE sql AS $$
  UPDATE registration_token t SET uses = t.uses + 1
    FROM virtual_account va JOIN local_account a ON a.id = va.account_id
   WHERE t.id = p_token AND t.virtual_account_id = p_virtual_account AND va.id = t.virtual_account_id
     AND t.revoked_at IS NULL AND t.expires_at > p_now AND a.status = 'ACTIVE' AND t.uses < t.max_uses
  RETURNING t.id::text, t.virtual_account_id::text, va.name, a.id::text, a.name, a.smart_account, t.export_controlled
$$;

-- A transport register, first statement: claims (sender = the UDI, jti), then creates the
-- instance or locks and updates the one of this UDI. A REGISTERED instance moves to another
-- virtual account only when the new key is its current key (the product itself moving, with its
-- usage released in the old one) or after it was released (deregistered or removed by an admin):
-- UDIs are printed on devices and token strings get around. Records the event. Returns
-- {"stored": ...} for a claimed (sender, jti), else {"id": <instance id>}. The token is used in
-- slm_transport_register_answer.
CREATE FUNCTION slm_transport_register(
  p_sender text, p_jti text, p_request_hash text, p_pid text, p_sn text, p_new_id uuid, p_virtual_account uuid, p_token uuid,
  p_name text, p_product_type text, p_software_version text, p_export_controlled boolean,
  p_cert_serial text, p_cert_pem text, p_key_pem text, p_cert_not_after timestamptz, p_now timestamptz, p_event_details jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_stored jsonb;
  v_id uuid;
  v_va uuid;
  v_status text;
  v_key text;
  v_new boolean := false;
BEGIN
  v_stored := slm_claim_message(p_sender, p_jti, p_request_hash, p_now);
  IF v_stored IS NOT NULL THEN
    RETURN v_stored;
  END IF;

  SELECT p.id, p.virtual_account_id, p.status::text, p.public_key_pem INTO v_id, v_va, v_status, v_key
    FROM product_instance p WHERE p.udi_pid = p_pid AND p.udi_sn = p_sn FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO product_instance (id, virtual_account_id, token_id, udi_pid, udi_sn, name, product_type, software_version, export_controlled,
                                  cert_serial, cert_pem, public_key_pem, cert_not_after, registered_at, last_contact_at)
    VALUES (p_new_id, p_virtual_account, p_token, p_pid, p_sn, p_name, p_product_type, p_software_version, p_export_controlled,
            p_cert_serial, p_cert_pem, p_key_pem, p_cert_not_after, p_now, p_now)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
      v_id := p_new_id;
      v_new := true;
    ELSE
      -- A first registration of the same UDI raced us and won: this one re-registers its row.
      SELECT p.id, p.virtual_account_id, p.status::text, p.public_key_pem INTO STRICT v_id, v_va, v_status, v_key
        FROM product_instance p WHERE p.udi_pid = p_pid AND p.udi_sn = p_sn FOR UPDATE;
    END IF;
  END IF;

  IF NOT v_new THEN
    IF v_status = 'REGISTERED' AND v_va <> p_virtual_account THEN
      IF v_key <> p_key_pem THEN RAISE EXCEPTION 'UDI_REGISTERED_ELSEWHERE'; END IF;
      -- Its usage belongs to the old virtual account; the product reports again on its next authorize.
      PERFORM slm_replace_usage(v_id, v_va, '{}', '{}');
    END IF;
    UPDATE product_instance
       SET virtual_account_id = p_virtual_account, token_id = p_token, name = p_name, product_type = p_product_type,
           software_version = p_software_version, status = 'REGISTERED', export_controlled = p_export_controlled,
           cert_serial = p_cert_serial, cert_pem = p_cert_pem, public_key_pem = p_key_pem, cert_not_after = p_cert_not_after,
           last_contact_at = p_now, deregistered_at = NULL
     WHERE id = v_id;
  END IF;

  INSERT INTO event_log (actor, action, object_type, object_id, outcome, details)
  VALUES (p_sender, CASE WHEN v_new THEN 'product.register' ELSE 'product.reregister' END, 'product-instance', v_id::text, 'success', p_event_details);
  RETURN jsonb_build_object('id', v_id);
END $$;

-- A transport register, last statement: uses the token and stores the signed answer. It travels
-- with the COMMIT, so products sharing one token queue on its row only for the commit itself.
-- A token that cannot be used raises TOKEN_REFUSED and the whole registration rolls back.
CREATE FUNCTION slm_transport_register_answer(p_token uuid, p_virtual_account uuid, p_now timestamptz, p_sender text, p_jti text, p_body jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM * FROM slm_use_token(p_token, p_virtual_account, p_now);
  IF NOT FOUND THEN RAISE EXCEPTION 'TOKEN_REFUSED'; END IF;
  UPDATE idempotency_record SET http_status = 200, body = p_body WHERE sender = p_sender AND jti = p_jti;
END $$;
