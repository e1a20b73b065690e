"""Jaro–Winkler and optimal string alignment as PostgreSQL functions, for the postgres
matching backend (docs/matching.md, "Scale-out").

They give exactly what rapidfuzz gives (``JaroWinkler.normalized_similarity``,
``OSA.distance``) on code points; ``tests/matching/test_sql_backend.py`` checks them
against rapidfuzz. Other databases get nothing: the backend refuses to run there.
"""

from django.db import migrations

JARO_WINKLER = r"""
CREATE OR REPLACE FUNCTION regard_jaro_winkler(a text, b text) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    s text[] := string_to_array(a, NULL);  -- one element per character (code point)
    t text[] := string_to_array(b, NULL);
    ls integer := cardinality(s);
    lt integer := cardinality(t);
    prefix integer := 0;
    bound integer;
    s_used integer;
    t_used integer;
    free text[];
    t_matched boolean[];
    matched text[] := '{}';
    common integer := 0;
    transpositions integer := 0;
    i integer;
    j integer;
    k integer := 0;
    sim double precision;
BEGIN
    IF ls = 0 AND lt = 0 THEN
        RETURN 1.0::double precision;
    END IF;
    IF ls = 0 OR lt = 0 THEN
        RETURN 0.0::double precision;
    END IF;
    -- Winkler's common prefix, at most four characters, on the whole strings.
    WHILE prefix < least(ls, lt, 4) AND s[prefix + 1] = t[prefix + 1] LOOP
        prefix := prefix + 1;
    END LOOP;
    IF ls = 1 AND lt = 1 THEN
        sim := CASE WHEN s[1] = t[1] THEN 1.0 ELSE 0.0 END;
    ELSE
        -- rapidfuzz's match window: half the longer length minus one; the part of the
        -- longer string that no window reaches is cut off first.
        s_used := ls;
        t_used := lt;
        IF lt > ls THEN
            bound := lt / 2 - 1;
            t_used := least(lt, ls + bound);
        ELSE
            bound := ls / 2 - 1;
            s_used := least(ls, lt + bound);
        END IF;
        free := t[1:t_used];
        t_matched := array_fill(false, ARRAY[t_used]);
        FOR i IN 1..s_used LOOP
            -- the first character of t still free in the window that equals s[i]
            j := array_position(free, s[i], greatest(1, i - bound));
            IF j IS NOT NULL AND j <= i + bound THEN
                free[j] := NULL;
                t_matched[j] := true;
                common := common + 1;
                matched := array_append(matched, s[i]);
            END IF;
        END LOOP;
        IF common = 0 THEN
            sim := 0.0::double precision;
        ELSE
            FOR j IN 1..t_used LOOP
                IF t_matched[j] THEN
                    k := k + 1;
                    IF matched[k] <> t[j] THEN
                        transpositions := transpositions + 1;
                    END IF;
                END IF;
            END LOOP;
            transpositions := transpositions / 2;
            -- the same operations in the same order as rapidfuzz, so the doubles are equal
            sim := common::double precision / ls::double precision;
            sim := sim + common::double precision / lt::double precision;
            sim := sim + (common - transpositions)::double precision / common::double precision;
            sim := sim / 3.0::double precision;
        END IF;
    END IF;
    IF sim > 0.7::double precision THEN
        sim := sim + prefix::double precision * 0.1::double precision * (1.0::double precision - sim);
        sim := least(sim, 1.0::double precision);
    END IF;
    -- rapidfuzz's normalized similarity is 1 - normalized distance = 1 - (1 - sim).
    RETURN 1.0::double precision - (1.0::double precision - sim);
END
$fn$;
"""

OSA = r"""
CREATE OR REPLACE FUNCTION regard_osa(a text, b text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    s text[] := string_to_array(a, NULL);
    t text[] := string_to_array(b, NULL);
    m integer := cardinality(s);
    n integer := cardinality(t);
    p integer := 0;
    swap text[];
    masks bigint[];
    all_bits bigint;
    last_bit bigint;
    vp bigint;
    vn bigint := 0;
    d0 bigint := 0;
    hp bigint;
    pm bigint;
    pm_before bigint := 0;
    distance integer;
    ch text;
    i integer;
    j integer;
    before integer[];
    previous integer[];
    current integer[];
    best integer;
BEGIN
    -- A common prefix and suffix do not change the distance (rapidfuzz strips them too).
    WHILE p < least(m, n) AND s[p + 1] = t[p + 1] LOOP
        p := p + 1;
    END LOOP;
    WHILE m > p AND n > p AND s[m] = t[n] LOOP
        m := m - 1;
        n := n - 1;
    END LOOP;
    IF m = p OR n = p THEN
        RETURN (m - p) + (n - p);
    END IF;
    s := s[p + 1:m];
    t := t[p + 1:n];
    m := m - p;
    n := n - p;
    IF m > n THEN  -- the shorter one is the bit pattern
        swap := s;
        s := t;
        t := swap;
        i := m;
        m := n;
        n := i;
    END IF;
    IF m <= 62 THEN
        -- Hyyrö's bit-parallel OSA (2003), as in rapidfuzz's own pure-Python version. Every
        -- value is cut to m bits: the low bits of and, or, xor, not, shift left and + depend
        -- only on the operands' low bits, and a sum of two m-bit values fits a bigint.
        all_bits := (1::bigint << m) - 1;
        last_bit := 1::bigint << (m - 1);
        masks := array_fill(0::bigint, ARRAY[m]);  -- indexed by a character's first position
        FOR i IN 1..m LOOP
            j := array_position(s, s[i]);
            masks[j] := masks[j] | (1::bigint << (i - 1));
        END LOOP;
        vp := all_bits;
        distance := m;
        FOREACH ch IN ARRAY t LOOP
            pm := coalesce(masks[array_position(s, ch)], 0);
            d0 := ((((pm & vp) + vp) # vp) | pm | vn | ((((~d0) & pm) << 1) & pm_before)) & all_bits;
            hp := (vn | ~(d0 | vp)) & all_bits;
            distance := distance + ((hp & last_bit) <> 0)::integer - ((d0 & vp & last_bit) <> 0)::integer;
            hp := ((hp << 1) | 1) & all_bits;
            vp := (((d0 & vp) << 1) | ~(d0 | hp)) & all_bits;
            vn := hp & d0;
            pm_before := pm;
        END LOOP;
        RETURN distance;
    END IF;
    -- Longer strings: the textbook table, row by row. previous[j + 1] is the distance
    -- between s[1..i-1] and t[1..j]; before, between s[1..i-2] and t[1..j].
    previous := array(SELECT generate_series(0, n));
    before := previous;
    FOR i IN 1..m LOOP
        current := ARRAY[i];
        FOR j IN 1..n LOOP
            best := least(
                previous[j + 1] + 1,
                current[j] + 1,
                previous[j] + CASE WHEN s[i] = t[j] THEN 0 ELSE 1 END
            );
            IF i > 1 AND j > 1 AND s[i] = t[j - 1] AND s[i - 1] = t[j] THEN
                best := least(best, before[j - 1] + 1);
            END IF;
            current := array_append(current, best);
        END LOOP;
        before := previous;
        previous := current;
    END LOOP;
    RETURN previous[n + 1];
END
$fn$;
"""

DROP = """
DROP FUNCTION IF EXISTS regard_jaro_winkler(text, text);
DROP FUNCTION IF EXISTS regard_osa(text, text);
"""


def create_functions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(JARO_WINKLER)
    schema_editor.execute(OSA)


def drop_functions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("matching", "0001_initial")]

    operations = [migrations.RunPython(create_functions, drop_functions)]
