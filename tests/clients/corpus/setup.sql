create extension if not exists vector;
create table items (id serial primary key, name text not null unique, embedding vector(3));
create index items_embedding_hnsw on items using hnsw (embedding vector_l2_ops) with (m = 16);
create table notes (note_id bigint primary key, item_id int, body varchar(200), created timestamptz);
create view named_items as select id, name from items;
comment on table items is 'things with embeddings';
comment on column items.embedding is 'three floats';
insert into items (name, embedding) values ('a', '[1,2,3]'), ('b', '[4,5,6]');
