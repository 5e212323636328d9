-- Whether a hidden danger exists, kept so (not deleted) until the transaction ends: a photo is about to be added.
SELECT 1 FROM hidden_danger WHERE id = %(id)s FOR KEY SHARE
