-- The posts the alerts compare after every sync: each product type's newest posts before the
-- trending window (its baseline) are the first entries of this index, read without sorting
-- the account's whole history and, once vacuum has marked their pages visible, without
-- visiting the table. No column of it is updated by a sync, so the hourly updates of a
-- post's latest values stay in-place (HOT) updates.
CREATE INDEX media_account_type_published
    ON media (account_id, product_type, published_at DESC, ig_media_id DESC) INCLUDE (id);
