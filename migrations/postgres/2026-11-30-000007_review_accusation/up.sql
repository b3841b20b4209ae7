-- No clearance outlives a change of accusation: what the file was accused
-- of when a review opened (JSON of category, major_crimes_accusation and
-- accusation_summary). A withdrawal restores the earlier review status
-- only if the file is still accused of the same. NULL for reviews opened
-- before this column existed: treated as changed.
ALTER TABLE reviews ADD COLUMN accusation_at_open TEXT;
