from bot.normalize import clean, looks_traditional, normalize_query, to_traditional


def test_query_folding():
    assert normalize_query("溫州ＧＤＰ　是多少？") == "温州gdp 是多少?"
    assert normalize_query("城市\u200b书房\u202e\x07") == "城市书房"
    assert clean("  a \n\t b  ") == "a b"


def test_traditional_detection_and_reply_script():
    assert looks_traditional("泰順那個抽水蓄能電站批下來了嗎")
    assert not looks_traditional("泰顺那个抽水蓄能电站批下来了吗")
    assert not looks_traditional("GDP 1.94 ok")
    assert to_traditional("温州市为市民提供了阅读空间") == "溫州市為市民提供了閱讀空間"


def test_folding_twice_changes_nothing_even_for_compatibility_characters():
    for text in ["㈼", "㈱", "⑴溫州", "ＧＤＰ", "㍻"]:  # NFKC turns these into characters OpenCC folds again
        once = normalize_query(text)
        assert normalize_query(once) == once, text
