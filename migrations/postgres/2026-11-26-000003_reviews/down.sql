DROP TABLE consultations;
DROP TABLE reviews;
