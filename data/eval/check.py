#!/usr/bin/env python3
"""Validate the hand-labelled chat-turn sets of convqa: data/eval (evaluation only) and
data/dev (tuning only). Both have the same format and guideline (data/eval/README.md).

All texts in those files are synthetic and were written by hand for convqa.

Usage (from anywhere):

    python3 data/eval/check.py                  # validate data/eval; exit 1 on a problem
    python3 data/eval/check.py --markdown       # print only the README tables (markdown)
    python3 data/eval/check.py --set dev        # validate data/dev: the same checks with its
                                                # own ids, README and minimum size
    python3 data/eval/check.py --set dev --markdown

`--file`, `--id-prefix`, `--readme` and `--min-per-task` override the values of the chosen
set (`--set eval` is the default; a `--file` that is one of the two sets selects that set).
The set being checked is also checked for overlap with the other labelled set, so eval and
dev can never share a text or a near duplicate.

Only the Python standard library is needed. If the optional package `zhconv_rs` is
importable, the duplicate and overlap checks are repeated on text folded to Simplified
Chinese with it (the built-in fold below covers the common characters only).

What is checked (a failure of any item makes the exit status 1):

- file format: UTF-8 without BOM, LF line endings, final newline, one JSON object per line
- schema: exactly the fields id, text, lang, task, label, scenario, all strings, with the
  allowed values; ids are ev-0001, ev-0002, ... (dv-0001, ... for dev) in file order
- text: one line, no surrounding whitespace, 3-120 characters, no URL or host name
- language sanity: `en` has no Han characters; `zh-Hans` / `zh-Hant` have Han characters
  and no English word (Latin letters are allowed only inside codes that contain a digit,
  such as SF1029384756); `mixed` has both Han characters and at least one English word
- script sanity: no common Traditional-only character in zh-Hans, no common
  Simplified-only character in zh-Hant, and no mixed text that uses both
- duplicates: no two texts are equal after normalisation (NFKC, casefold, Traditional
  folded to Simplified, only letters and digits kept), and no pair of texts is a near
  duplicate (character 4-gram Jaccard >= NEAR_DUP)
- separation from other data: no text equals (normalised) or nearly equals
  (4-gram Jaccard >= NEAR_DUP) a text of data/politeness-zh/agent_turns.jsonl, and no
  text equals (normalised) a turn of data/sample/*.jsonl; the same exact / near-duplicate
  rule against the other labelled set (eval when checking dev, dev when checking eval,
  skipped with a note if that file does not exist yet)
- size and balance, per task: at least min_per_task items (see SETS: eval 330, dev 210);
  every label 25-40 %; lang shares within +-LANG_TOLERANCE points of the targets
  (zh-Hans 30, zh-Hant 20, en 30, mixed 20); every scenario used at least MIN_PER_SCENARIO times
- the tables between the markers in the set's README.md equal the ones computed here
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
TURNS = HERE / "turns.jsonl"
README = HERE / "README.md"
OTHER_SET = HERE.parent / "politeness-zh" / "agent_turns.jsonl"
SAMPLE_DIR = HERE.parent / "sample"
DEV_DIR = HERE.parent / "dev"

# The labelled chat-turn sets this script validates. Same format, guideline and checks;
# they differ in id prefix, README and minimum size. Each is checked against the others.
SETS = {
    "eval": {"file": TURNS, "id_prefix": "ev", "readme": README, "min_per_task": 330},
    "dev": {"file": DEV_DIR / "turns.jsonl", "id_prefix": "dv", "readme": DEV_DIR / "README.md",
            "min_per_task": 210},
}

FIELDS = ["id", "text", "lang", "task", "label", "scenario"]
LABELS = {
    "sentiment": ["negative", "neutral", "positive"],
    "politeness": ["impolite", "neutral", "polite"],
}
LANGS = ["zh-Hans", "zh-Hant", "en", "mixed"]
LANG_TARGET = {"zh-Hans": 0.30, "zh-Hant": 0.20, "en": 0.30, "mixed": 0.20}
SCENARIOS = ["billing", "login", "refund", "bug", "delivery", "subscription", "account", "other"]

MIN_PER_TASK = SETS["eval"]["min_per_task"]  # default of check_balance
LABEL_SHARE = (0.25, 0.40)
LANG_TOLERANCE = 0.05
MIN_PER_SCENARIO = 10
MIN_LEN, MAX_LEN = 3, 120
NEAR_DUP = 0.6  # character 4-gram Jaccard on normalised text

# Simplified/Traditional character pairs (one Simplified then one Traditional character),
# used to fold Traditional to Simplified for the duplicate checks and for the script sanity
# check. They cover the common characters of convqa's Chinese data, not all of Chinese.
PAIRS = (
    "与與专專业業东東丢丟两兩个個丰豐临臨为為丽麗么麼义義乐樂习習乡鄉书書买買乱亂于於云雲产產亲親亿億仅僅从從仓倉仪儀们們价價众眾优優会會传傳伤傷伦倫体體侦偵侧側俭儉"
    "债債倾傾偿償储儲儿兒兑兌关關兴興内內册冊写寫冲沖决決况況冻凍准準减減凑湊几幾凤鳳凭憑击擊划劃刘劉则則刚剛删刪别別剧劇劝勸办辦务務动動劳勞势勢勋勛区區华華协協单單"
    "卖賣卢盧卧臥卫衛厂廠厅廳历歷厉厲压壓厌厭厕廁参參双雙发發变變叠疊台颱号號叹嘆后後吓嚇吗嗎吨噸听聽启啟吴吳呗唄员員呜嗚周週咏詠响響哑啞唤喚啧嘖啰囉喂餵团團园園围圍"
    "国國图圖圣聖场場坏壞块塊坚堅坛壇垄壟垒壘墙牆声聲处處备備复復复複够夠头頭夺奪奋奮奖獎妇婦妈媽娱娛孙孫学學宁寧宝寶实實宠寵审審宫宮宽寬宾賓对對导導将將尘塵尽盡层層"
    "届屆属屬岁歲岂豈岗崗岛島峡峽币幣帅帥师師帐帳带帶帮幫并並并併广廣库庫应應开開异異弃棄张張弹彈强強归歸当當录錄彻徹忆憶忧憂怀懷态態恋戀恳懇恶惡悦悅惊驚惧懼惯慣愿願"
    "懒懶戏戲战戰户戶扑撲托託执執扩擴扫掃扬揚扰擾抢搶护護报報担擔拟擬拣揀拥擁拦攔择擇挂掛挡擋挤擠损損捡撿换換据據揾搵携攜摄攝摆擺摇搖攒攢敌敵敛斂数數断斷无無旧舊时時"
    "昵暱显顯晒曬晓曉晕暈暂暫暧曖术術机機杀殺杂雜权權条條来來杨楊杰傑极極构構枪槍柜櫃标標树樹样樣档檔桥橋桦樺梦夢检檢椭橢楼樓槛檻欢歡欧歐歼殲残殘毁毀毕畢气氣汇匯汤湯"
    "沟溝没沒注註泪淚泽澤洁潔浅淺浆漿浇澆测測济濟浏瀏浑渾浓濃涂塗涛濤涝澇涡渦润潤涨漲涩澀渊淵渐漸渔漁温溫游遊湾灣湿濕溃潰溅濺滚滾滞滯满滿滨濱滩灘潜潛灭滅灯燈灵靈灾災"
    "灿燦炉爐点點炼煉烂爛烛燭烟煙烦煩烧燒烫燙热熱焕煥爱愛爷爺牵牽状狀犹猶独獨狭狹狮獅猎獵猪豬猫貓献獻玛瑪环環现現珐琺琐瑣电電画畫畅暢疗療疮瘡疯瘋痒癢瘫癱盏盞盐鹽监監"
    "盖蓋盗盜盘盤睁睜瞒瞞矫矯矿礦码碼砖磚础礎硕碩确確碍礙礼禮祸禍禀稟离離秃禿秆稈种種积積称稱秽穢税稅稳穩穷窮窃竊窍竅窜竄竞競笋筍笔筆笼籠筑築筛篩筹籌签簽简簡箩籮类類"
    "粪糞粮糧系係系繫紧緊纠糾纤纖约約级級纪紀纫紉纬緯纯純纱紗纲綱纳納纵縱纷紛纸紙纹紋纺紡纽紐线線绀紺练練组組细細织織终終绊絆绍紹绎繹经經绑綁绒絨结結绕繞绘繪给給络絡"
    "绝絕绞絞统統绢絹继繼绩績绪緒续續绳繩维維绵綿绸綢综綜绽綻绿綠缀綴缅緬缆纜缉緝缎緞缓緩缔締编編缘緣缚縛缝縫缠纏缩縮缴繳网網罗羅罚罰罢罷羡羨翘翹聋聾职職联聯聪聰肃肅"
    "肠腸肤膚肾腎肿腫胀脹胁脅胆膽胜勝脉脈脏髒脑腦脓膿脚腳脸臉腊臘腻膩腾騰舆輿舰艦舱艙艰艱艳艷艺藝节節芜蕪苍蒼苏蘇茎莖荐薦荡蕩荣榮药藥莱萊获獲莹瑩萤螢营營萧蕭萨薩蓝藍"
    "蔷薔蕴蘊虏虜虑慮虚虛虫蟲虽雖蚀蝕蚁蟻蚂螞蛊蠱蛮蠻蜡蠟蝇蠅衅釁补補衬襯袄襖袜襪装裝裤褲见見观觀规規觅覓视視览覽觉覺觊覬觎覦触觸誉譽计計订訂认認讥譏讨討让讓训訓议議"
    "讯訊记記讲講讳諱讶訝许許讹訛论論讼訟讽諷设設访訪诀訣证證评評识識诈詐诉訴诊診词詞译譯试試诗詩诚誠话話诞誕询詢该該详詳诧詫诫誡语語误誤诱誘说說诵誦请請诸諸诺諾读讀"
    "课課谁誰谂諗调調谅諒谈談谊誼谋謀谎謊谐諧谓謂谜謎谢謝谣謠谦謙谨謹谬謬谱譜谴譴贝貝负負贡貢财財责責贤賢败敗账賬货貨质質贩販贪貪贫貧购購贯貫贱賤贴貼贵貴贷貸贸貿费費"
    "贺賀贼賊贾賈资資赋賦赌賭赏賞赐賜赔賠赖賴赚賺赛賽赞讚赞贊赠贈赢贏赵趙赶趕趋趨跃躍践踐踪蹤蹿躥躯軀车車轨軌轩軒转轉轮輪软軟轰轟轴軸轻輕载載较較辅輔辆輛辈輩辉輝辐輻"
    "辑輯输輸辖轄辙轍辩辯辫辮边邊辽遼达達迁遷过過迈邁运運还還这這进進远遠违違连連迟遲适適选選逊遜递遞逻邏遗遺邓鄧邮郵邻鄰郑鄭酝醞酱醬酿釀释釋里裡鉴鑑鉴鑒针針钉釘钓釣"
    "钙鈣钝鈍钞鈔钟鍾钟鐘钠鈉钢鋼钥鑰钦欽钩鈎钮鈕钱錢钳鉗钻鑽铁鐵铃鈴铅鉛铜銅铝鋁铭銘铲鏟银銀铸鑄铺鋪链鏈销銷锁鎖锅鍋锈鏽锋鋒锐銳错錯锡錫锣鑼锤錘锦錦键鍵锯鋸锻鍛镇鎮"
    "镜鏡长長门門闪閃闭閉问問闯闖闲閒间間闷悶闸閘闹鬧闻聞阀閥阁閣阅閱阐闡阔闊队隊阳陽阴陰阵陣阶階际際陆陸陈陳陕陝险險随隨隐隱隶隸难難雏雛雾霧静靜韦韋韧韌韩韓页頁顶頂"
    "顷頃项項顺順须須顽頑顾顧顿頓颁頒颂頌预預领領颇頗颈頸频頻颗顆题題颜顏额額颠顛风風飘飄飞飛饥飢饭飯饮飲饰飾饱飽饲飼饼餅饿餓馆館馈饋馒饅马馬驱驅驳駁驴驢驶駛驻駐驾駕"
    "驿驛骂罵骄驕骆駱验驗骏駿骑騎骗騙骚騷骤驟鱼魚鲁魯鲜鮮鸟鳥鸡雞鸣鳴鸦鴉鸭鴨鸽鴿鹅鵝鹰鷹麦麥黄黃齐齊齿齒龄齡龙龍龟龜"
)
# Simplified characters that are also ordinary Traditional characters (后 "queen", 干, 里, 准,
# 周, 系 ..., 划 as in 划算, 晒 as in Cantonese 多謝晒): they fold, but their presence does not
# make a text Simplified.
AMBIGUOUS_SIMP = set("于冲几并后发复干里面系准周云游采谷松范余只台才出斗丑志制征症布回卜朴板借郁尸舍折咸划晒")
# Traditional characters that Simplified text also uses in some words (著名, 乾坤, 藉口 ...).
AMBIGUOUS_TRAD = set("著乾瞭徵藉覆夥")

FOLD = {}
SIMP_ONLY = set()
TRAD_ONLY = set()
for _i in range(0, len(PAIRS), 2):
    _s, _t = PAIRS[_i], PAIRS[_i + 1]
    FOLD[_t] = _s
    if _s not in AMBIGUOUS_SIMP:
        SIMP_ONLY.add(_s)
    if _t not in AMBIGUOUS_TRAD:
        TRAD_ONLY.add(_t)
SIMP_ONLY -= set(FOLD)  # a character that is itself a Traditional form is never "Simplified only"
# Variants that are not one-to-one pairs above but should fold for the duplicate checks
# (Taiwan 等著 = 等着, Hong Kong 裏 = 裡 = 里).
FOLD.update({"著": "着", "裏": "里"})

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
HOST = re.compile(
    r"(?i)(https?://|www\.|\b[a-z0-9-]+\.(com|net|org|edu|gov|io|cn|hk|tw|co|uk|de|jp|app|dev|ai|me|ly)\b)"
)

try:  # optional, for a second, complete fold of Traditional to Simplified
    import zhconv_rs  # type: ignore
except Exception:  # pragma: no cover - optional
    zhconv_rs = None


def fold(text: str) -> str:
    return "".join(FOLD.get(ch, ch) for ch in text)


def normalise(text: str, full_fold: bool = False) -> str:
    t = unicodedata.normalize("NFKC", text).casefold()
    t = zhconv_rs.zhconv(t, "zh-hans") if (full_fold and zhconv_rs) else fold(t)
    return "".join(ch for ch in t if unicodedata.category(ch)[0] in "LN")


def grams(norm: str, n: int = 4) -> set[str]:
    if len(norm) <= n:
        return {norm}
    return {norm[i : i + n] for i in range(len(norm) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def english_words(text: str) -> list[str]:
    """Runs of ASCII letters/digits (after NFKC) that contain no digit, i.e. words, not codes."""
    t = unicodedata.normalize("NFKC", text)
    return [run for run in ALNUM_RUN.findall(t) if not any(c.isdigit() for c in run)]


def read_turns(path: Path, problems: list[str]) -> list[dict]:
    if not path.exists():
        problems.append(f"{path.name}: file not found")
        return []
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        problems.append(f"{path.name}: starts with a BOM")
        raw = raw[3:]
    if b"\r" in raw:
        problems.append(f"{path.name}: contains CR characters (LF line endings required)")
    if raw and not raw.endswith(b"\n"):
        problems.append(f"{path.name}: no newline at the end of the file")
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        problems.append(f"{path.name}: not valid UTF-8 ({e})")
        return []
    rows = []
    lines = content.split("\n")
    if content.endswith("\n"):
        lines.pop()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            problems.append(f"line {n}: empty line")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"line {n}: invalid JSON ({e})")
            continue
        if not isinstance(obj, dict):
            problems.append(f"line {n}: not a JSON object")
            continue
        obj["_line"] = n
        rows.append(obj)
    return rows


def check_rows(rows: list[dict], problems: list[str], id_prefix: str = "ev") -> list[dict]:
    good = []
    for idx, r in enumerate(rows, 1):
        n = r["_line"]
        keys = [k for k in r if k != "_line"]
        if keys != FIELDS:
            problems.append(f"line {n}: fields must be exactly {FIELDS} in this order, got {keys}")
            continue
        if not all(isinstance(r[k], str) for k in FIELDS):
            problems.append(f"line {n}: every field must be a string")
            continue
        ok = True
        if r["id"] != f"{id_prefix}-{idx:04d}":
            problems.append(f"line {n}: id {r['id']!r}, expected '{id_prefix}-{idx:04d}'")
            ok = False
        if r["task"] not in LABELS:
            problems.append(f"line {n}: task {r['task']!r} not in {list(LABELS)}")
            ok = False
        elif r["label"] not in LABELS[r["task"]]:
            problems.append(f"line {n}: label {r['label']!r} not allowed for task {r['task']}")
            ok = False
        if r["lang"] not in LANGS:
            problems.append(f"line {n}: lang {r['lang']!r} not in {LANGS}")
            ok = False
        if r["scenario"] not in SCENARIOS:
            problems.append(f"line {n}: scenario {r['scenario']!r} not in {SCENARIOS}")
            ok = False
        t = r["text"]
        if t != t.strip() or any(unicodedata.category(c) == "Cc" for c in t):
            problems.append(f"line {n}: text has surrounding whitespace or control characters")
            ok = False
        if not MIN_LEN <= len(t) <= MAX_LEN:
            problems.append(f"line {n}: text length {len(t)} outside {MIN_LEN}-{MAX_LEN}")
            ok = False
        if HOST.search(unicodedata.normalize("NFKC", t)):
            problems.append(f"line {n}: text looks like it contains a URL or host name")
            ok = False
        if r["lang"] in LANGS:
            has_han = bool(HAN.search(t))
            words = english_words(t)
            han = set(HAN.findall(t))
            if r["lang"] == "en" and has_han:
                problems.append(f"line {n}: lang en but the text has Han characters")
            if r["lang"] in ("zh-Hans", "zh-Hant"):
                if not has_han:
                    problems.append(f"line {n}: lang {r['lang']} but no Han characters")
                if words:
                    problems.append(f"line {n}: lang {r['lang']} but English words {words} (use mixed)")
            if r["lang"] == "mixed" and not (has_han and words):
                problems.append(f"line {n}: lang mixed needs Han characters and an English word")
            trad, simp = sorted(han & TRAD_ONLY), sorted(han & SIMP_ONLY)
            if r["lang"] == "zh-Hans" and trad:
                problems.append(f"line {n}: zh-Hans text has Traditional-only characters {''.join(trad)}")
            if r["lang"] == "zh-Hant" and simp:
                problems.append(f"line {n}: zh-Hant text has Simplified-only characters {''.join(simp)}")
            if r["lang"] == "mixed" and trad and simp:
                problems.append(f"line {n}: mixed text uses both scripts ({''.join(trad)} / {''.join(simp)})")
        if ok:
            good.append(r)
    return good


def read_other_texts(notes: list[str]) -> tuple[list[str], list[str]]:
    """Texts of data/politeness-zh and of every turn in data/sample."""
    other = []
    if OTHER_SET.exists():
        for line in OTHER_SET.read_text(encoding="utf-8").splitlines():
            if line.strip():
                other.append(json.loads(line)["text"])
    else:
        notes.append(f"{OTHER_SET} not found: overlap check against it skipped")
    sample = []
    for f in sorted(SAMPLE_DIR.glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            try:
                conv = json.loads(line)
            except json.JSONDecodeError:
                continue
            for turn in conv.get("turns", []) if isinstance(conv, dict) else []:
                if isinstance(turn, dict) and isinstance(turn.get("text"), str):
                    sample.append(turn["text"])
    return other, sample


def read_set_texts(path: Path, notes: list[str]) -> list[str]:
    """Texts of another labelled chat-turn set (data/eval or data/dev); [] with a note if absent."""
    if not path.exists():
        notes.append(f"{path} not found: overlap check against it skipped")
        return []
    texts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("text"), str):
            texts.append(obj["text"])
    return texts


def check_duplicates(
    rows: list[dict], problems: list[str], notes: list[str], other_sets: dict[str, list[str]] | None = None
) -> None:
    """other_sets: name -> texts of further sets that must not share a text or a near duplicate."""
    other, sample = read_other_texts(notes)
    against = {OTHER_SET.parent.name: other, **(other_sets or {})}
    reported: set[tuple] = set()

    def report(key: tuple, msg: str) -> None:  # one message per finding, whichever fold found it
        if key not in reported:
            reported.add(key)
            problems.append(msg)

    folds = [False] + ([True] if zhconv_rs else [])
    if not zhconv_rs:
        notes.append("zhconv_rs not installed: duplicate/overlap checks used the built-in fold only")
    for full in folds:
        tag = " (zhconv fold)" if full else ""
        norm = [normalise(r["text"], full) for r in rows]
        seen: dict[str, dict] = {}
        for r, k in zip(rows, norm):
            if not k:
                report(("empty", r["id"]), f"{r['id']}: text has no letters or digits")
            elif k in seen:
                report(("dup", r["id"]), f"{r['id']}: duplicate of {seen[k]['id']}{tag}: {r['text']!r}")
            else:
                seen[k] = r
        g = [grams(k) for k in norm]
        worst = (0.0, "-", "-")
        for i in range(len(rows)):
            for j in range(i + 1, len(rows)):
                s = jaccard(g[i], g[j])
                if s > worst[0] and norm[i] != norm[j]:
                    worst = (s, rows[i]["id"], rows[j]["id"])
                if s >= NEAR_DUP and norm[i] != norm[j]:
                    report(
                        ("near", rows[i]["id"], rows[j]["id"]),
                        f"{rows[i]['id']} / {rows[j]['id']}: near duplicates{tag} (4-gram Jaccard {s:.2f})",
                    )
        notes.append(f"highest 4-gram Jaccard inside the set{tag}: {worst[0]:.2f} ({worst[1]} / {worst[2]})")
        for name, texts in against.items():
            if not texts:
                continue
            onorm = [normalise(t, full) for t in texts]
            oset = set(onorm)
            og = [grams(k) for k in onorm]
            best = 0.0
            for r, k, gi in zip(rows, norm, g):
                if k in oset:
                    report(("other", name, r["id"]), f"{r['id']}: text also in {name}{tag}: {r['text']!r}")
                for t, gj in zip(texts, og):
                    s = jaccard(gi, gj)
                    best = max(best, s)
                    if s >= NEAR_DUP:
                        report(
                            ("other", name, r["id"]),
                            f"{r['id']}: near duplicate of a {name} text{tag} "
                            f"(4-gram Jaccard {s:.2f}): {r['text']!r} ~ {t!r}",
                        )
            notes.append(f"highest 4-gram Jaccard against {name}{tag}: {best:.2f}")
        sset = {normalise(t, full) for t in sample}
        for r, k in zip(rows, norm):
            if k in sset:
                report(("sample", r["id"]), f"{r['id']}: text also appears in data/sample{tag}: {r['text']!r}")


def tables(rows: list[dict]) -> tuple[str, str]:
    out = []
    c = Counter((r["task"], r["lang"], r["label"]) for r in rows)
    out.append("| task | label | " + " | ".join(LANGS) + " | total | share of task |")
    out.append("|---|---|" + "---:|" * (len(LANGS) + 2))
    for task, labels in LABELS.items():
        n_task = sum(v for (t, _, _), v in c.items() if t == task)
        for lab in labels + ["**all**"]:
            cells = []
            for lang in LANGS:
                if lab == "**all**":
                    cells.append(sum(v for (t, la, _), v in c.items() if t == task and la == lang))
                else:
                    cells.append(c[(task, lang, lab)])
            tot = sum(cells)
            share = f"{100 * tot / n_task:.1f}%" if n_task else "-"
            out.append(f"| {task} | {lab} | " + " | ".join(map(str, cells)) + f" | {tot} | {share} |")
        shares = []
        for lang in LANGS:
            k = sum(v for (t, la, _), v in c.items() if t == task and la == lang)
            shares.append(f"{100 * k / n_task:.1f}%" if n_task else "-")
        out.append(f"| {task} | share of task | " + " | ".join(shares) + " | 100% | |")
    table1 = "\n".join(out)
    out = ["| scenario | sentiment | politeness | total |", "|---|---:|---:|---:|"]
    s = Counter((r["task"], r["scenario"]) for r in rows)
    for sc in SCENARIOS:
        a, b = s[("sentiment", sc)], s[("politeness", sc)]
        out.append(f"| {sc} | {a} | {b} | {a + b} |")
    out.append(f"| **all** | {sum(v for (t, _), v in s.items() if t == 'sentiment')} | "
               f"{sum(v for (t, _), v in s.items() if t == 'politeness')} | {len(rows)} |")
    return table1, "\n".join(out)


def check_balance(rows: list[dict], problems: list[str], min_per_task: int = MIN_PER_TASK) -> None:
    for task, labels in LABELS.items():
        sub = [r for r in rows if r["task"] == task]
        n = len(sub)
        if n < min_per_task:
            problems.append(f"{task}: {n} items, at least {min_per_task} required")
        if not n:
            continue
        lab = Counter(r["label"] for r in sub)
        for la in labels:
            share = lab[la] / n
            if not LABEL_SHARE[0] <= share <= LABEL_SHARE[1]:
                problems.append(f"{task}: label {la} has {100 * share:.1f}% (allowed 25-40%)")
        lang = Counter(r["lang"] for r in sub)
        for lg, target in LANG_TARGET.items():
            share = lang[lg] / n
            if abs(share - target) > LANG_TOLERANCE:
                problems.append(f"{task}: lang {lg} has {100 * share:.1f}% (target {100 * target:.0f}% +-5)")
        sc = Counter(r["scenario"] for r in sub)
        for s in SCENARIOS:
            if sc[s] < MIN_PER_SCENARIO:
                problems.append(f"{task}: scenario {s} used {sc[s]} times (at least {MIN_PER_SCENARIO})")


def check_readme(table1: str, table2: str, problems: list[str], readme: Path = README) -> None:
    if not readme.exists():
        problems.append(f"{readme.name} not found")
        return
    text = readme.read_text(encoding="utf-8")
    for name, table in (("counts", table1), ("scenarios", table2)):
        m = re.search(rf"<!-- {name}:begin -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
        if not m:
            problems.append(f"{readme.name}: markers <!-- {name}:begin/end --> not found")
        elif m.group(1).strip() != table.strip():
            problems.append(f"{readme.name}: the {name} table differs from the data (run check.py --markdown)")


def main() -> int:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--markdown", action="store_true", help="print only the README tables")
    ap.add_argument("--set", choices=sorted(SETS), help="which set to check (default: eval, or the set --file names)")
    ap.add_argument("--file", type=Path, help="JSONL file to check (default: the set's turns.jsonl)")
    ap.add_argument("--id-prefix", help="expected id prefix, e.g. ev or dv (default: the set's)")
    ap.add_argument("--readme", type=Path, help="README with the count tables (default: the set's)")
    ap.add_argument("--min-per-task", type=int, help="minimum items per task (default: the set's)")
    args = ap.parse_args()
    name = args.set
    if name is None and args.file is not None:
        name = next((k for k, v in SETS.items() if v["file"].resolve() == args.file.resolve()), None)
    cfg = dict(SETS[name or "eval"])
    for key in ("file", "id_prefix", "readme", "min_per_task"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    turns = Path(cfg["file"]).resolve()
    problems: list[str] = []
    notes: list[str] = []
    rows = read_turns(turns, problems)
    good = check_rows(rows, problems, cfg["id_prefix"])
    table1, table2 = tables(good)
    if args.markdown:
        print("<!-- counts:begin -->\n" + table1 + "\n<!-- counts:end -->\n")
        print("<!-- scenarios:begin -->\n" + table2 + "\n<!-- scenarios:end -->")
        return 0
    other_sets = {  # every other labelled set (a file that is no known set is checked against all)
        f"data/{k}": read_set_texts(v["file"], notes)
        for k, v in SETS.items()
        if k != name and v["file"].resolve() != turns
    }
    check_duplicates(good, problems, notes, other_sets)
    check_balance(good, problems, cfg["min_per_task"])
    check_readme(table1, table2, problems, Path(cfg["readme"]))
    try:
        shown = turns.relative_to(HERE.parent.parent)
    except ValueError:
        shown = turns
    print(f"{shown}: {len(rows)} lines\n")
    print(table1 + "\n")
    print(table2)
    for n in notes:
        print("note: " + n)
    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
