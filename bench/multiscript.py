"""A small multi-script news set: articles in ten scripts and the queries that must find them.

Written for newsbot (short invented news items, not copied from anywhere). Every script has
an article that is the answer and a neighbour on another topic in the same script, so that
"found first" means something; queries come as a reader would type them, with typos where
the script has them (a dropped, doubled or swapped letter, a missing accent or vowel sign).
Used by bench/search.py next to the English corpus and by tests/services/test_search_scripts.py.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Article:
    key: str
    script: str
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class Query:
    script: str
    text: str
    target: str  # the key of the article that must come first
    typo: bool = False


ARTICLES = (
    Article(
        "zh-rate",
        "Chinese",
        "中国人民银行下调贷款市场报价利率",
        "中国人民银行周一宣布，将一年期贷款市场报价利率下调十个基点，以支持经济增长。"
        "分析人士认为，央行可能在年底前进一步放宽货币政策。",
    ),
    Article(
        "zh-cars",
        "Chinese",
        "上海国际汽车展览会开幕",
        "来自二十多个国家的汽车制造商在上海展示了新款电动汽车和自动驾驶技术，吸引了大批观众。",
    ),
    Article(
        "ja-rate",
        "Japanese",
        "日本銀行が金利の引き上げを決定",
        "日本銀行は金融政策決定会合で、短期金利を0.5%に引き上げることを決めた。"
        "円安と物価の上昇が続いていることが背景にある。",
    ),
    Article(
        "ja-sakura",
        "Japanese",
        "東京で桜の開花を発表",
        "気象庁は東京都心で桜が開花したと発表した。平年より五日早く、週末には見頃を迎える見込みだ。",
    ),
    Article(
        "ja-toyota",
        "Japanese",
        "トヨタが新型の電気自動車を発表",
        "トヨタ自動車は、航続距離を伸ばした新型の電気自動車を来年から販売すると発表した。",
    ),
    Article(
        "th-rate",
        "Thai",
        "ธนาคารแห่งประเทศไทยคงอัตราดอกเบี้ยนโยบาย",
        "คณะกรรมการนโยบายการเงินมีมติคงอัตราดอกเบี้ยนโยบายไว้ที่ร้อยละสองจุดห้า เพื่อรักษาเสถียรภาพของเศรษฐกิจ",
    ),
    Article(
        "th-flood",
        "Thai",
        "น้ำท่วมหนักในจังหวัดเชียงใหม่",
        "ฝนตกหนักต่อเนื่องทำให้เกิดน้ำท่วมในหลายอำเภอ ชาวบ้านต้องอพยพไปยังที่ปลอดภัย",
    ),
    Article(
        "ko-rate",
        "Korean",
        "한국은행, 기준금리 0.25%포인트 인상",
        "한국은행 금융통화위원회는 물가 상승세를 잡기 위해 기준금리를 연 3.5%로 올렸다.",
    ),
    Article(
        "ko-subway",
        "Korean",
        "서울 지하철 요금 다음 달 인상",
        "서울시는 다음 달부터 지하철 기본요금을 150원 올린다고 밝혔다.",
    ),
    Article(
        "hi-election",
        "Hindi",
        "बिहार विधानसभा चुनाव के नतीजे घोषित",
        "चुनाव आयोग ने बिहार विधानसभा चुनाव के नतीजे घोषित कर दिए हैं। सत्तारूढ़ गठबंधन ने बहुमत हासिल किया।",
    ),
    Article(
        "hi-rain",
        "Hindi",
        "मुंबई में भारी बारिश से जनजीवन प्रभावित",
        "मुंबई में लगातार बारिश के कारण कई इलाकों में पानी भर गया और लोकल ट्रेनें देर से चलीं।",
    ),
    Article(
        "ru-rate",
        "Russian",
        "Центробанк повысил ключевую ставку до 21%",
        "Банк России на заседании в пятницу повысил ключевую ставку, объяснив решение "
        "ускорением инфляции.",
    ),
    Article(
        "ru-tree",
        "Russian",
        "В Кремле зажгли главную ёлку страны",
        "На Соборной площади включили огни на тридцатиметровой ели, привезённой из Подмосковья.",
    ),
    Article(
        "uk-budget",
        "Ukrainian",
        "Верховна Рада ухвалила бюджет на наступний рік",
        "Народні депутати підтримали проєкт державного бюджету, більша частина видатків "
        "піде на оборону.",
    ),
    Article(
        "uk-bridge",
        "Ukrainian",
        "У Києві відкрили новий міст через Дніпро",
        "Рух мостом відкрили для автомобілів і громадського транспорту після трьох років робіт.",
    ),
    Article(
        "el-budget",
        "Greek",
        "Η Βουλή ψήφισε τον νέο προϋπολογισμό",
        "Ο προϋπολογισμός εγκρίθηκε με 158 ψήφους, ενώ η αντιπολίτευση καταψήφισε.",
    ),
    Article(
        "el-quake",
        "Greek",
        "Σεισμός 5,2 Ρίχτερ στην Κρήτη",
        "Ο σεισμός έγινε αισθητός στο Ηράκλειο, χωρίς να αναφερθούν ζημιές.",
    ),
    Article(
        "ar-rate",
        "Arabic",
        "البنك المركزي المصري يرفع أسعار الفائدة",
        "قرر البنك المركزي المصري رفع أسعار الفائدة بمقدار نقطتين مئويتين لمواجهة التضخم.",
    ),
    Article(
        "ar-books",
        "Arabic",
        "افتتاح معرض الكتاب الدولي في الرياض",
        "يشارك في المعرض أكثر من ألف دار نشر من ثلاثين دولة.",
    ),
    Article(
        "fa-rate",
        "Persian",
        "بانک مرکزی ایران نرخ بهره را افزایش داد",
        "بانک مرکزی برای مهار تورم نرخ سود سپرده‌ها را دو درصد بالا برد.",
    ),
    Article(
        "fa-books",
        "Persian",
        "برگزاری نمایشگاه کتاب تهران",
        "نمایشگاه بین‌المللی کتاب تهران با حضور ناشران داخلی و خارجی آغاز شد.",
    ),
    Article(
        "es-growth",
        "Spanish",
        "El Banco de España eleva su previsión de crecimiento",
        "La institución calcula que la economía española crecerá un 2,4% este año.",
    ),
    Article(
        "pt-election",
        "Portuguese",
        "Eleições municipais em São Paulo vão ao segundo turno",
        "Nenhum dos candidatos obteve a maioria dos votos válidos no primeiro turno.",
    ),
)

QUERIES = (
    Query("Chinese", "报价利率", "zh-rate"),
    Query("Chinese", "人民银行 利率", "zh-rate"),
    Query("Chinese", "货币政策", "zh-rate"),
    Query("Chinese", "汽车展览", "zh-cars"),
    Query("Chinese", "电动汽车", "zh-cars"),
    Query("Japanese", "金利引き上げ", "ja-rate"),
    Query("Japanese", "日銀 物価", "ja-rate"),
    Query("Japanese", "桜の開花", "ja-sakura"),
    Query("Japanese", "気象庁", "ja-sakura"),
    Query("Japanese", "トヨタ 電気自動車", "ja-toyota"),
    Query("Thai", "อัตราดอกเบี้ย", "th-rate"),
    Query("Thai", "ดอกเบี้ยนโยบาย", "th-rate"),
    Query("Thai", "น้ำท่วม เชียงใหม่", "th-flood"),
    Query("Thai", "อพยพ", "th-flood"),
    Query("Korean", "금리", "ko-rate"),
    Query("Korean", "기준금리 인상", "ko-rate"),
    Query("Korean", "한국은행", "ko-rate"),
    Query("Korean", "지하철 요금", "ko-subway"),
    Query("Hindi", "चुनाव नतीजे", "hi-election"),
    Query("Hindi", "बिहार चुनाव", "hi-election"),
    Query("Hindi", "गठबंधन", "hi-election"),
    Query("Hindi", "चुनव नतीजे", "hi-election", typo=True),
    Query("Hindi", "मुंबई बारिश", "hi-rain"),
    Query("Russian", "центробанк ставка", "ru-rate"),
    Query("Russian", "центробнак ключевую ставку", "ru-rate", typo=True),
    Query("Russian", "ключевую ставку", "ru-rate"),
    Query("Russian", "елка кремль", "ru-tree"),
    Query("Russian", "ёлку в кремле", "ru-tree"),
    Query("Ukrainian", "бюджет верховна рада", "uk-budget"),
    Query("Ukrainian", "ухвалила бюджт", "uk-budget", typo=True),
    Query("Ukrainian", "міст через дніпро", "uk-bridge"),
    Query("Ukrainian", "новий мисто києві", "uk-bridge", typo=True),
    Query("Greek", "προυπολογισμος βουλη", "el-budget"),
    Query("Greek", "προϋπολογισμό", "el-budget"),
    Query("Greek", "σεισμος κρητη", "el-quake"),
    Query("Greek", "σεισμς κρήτη", "el-quake", typo=True),
    Query("Arabic", "أسعار الفائدة", "ar-rate"),
    Query("Arabic", "الفائده البنك المركزي", "ar-rate", typo=True),
    Query("Arabic", "مَعْرِض الكِتَاب", "ar-books"),
    Query("Arabic", "معرض الكتاب الرياض", "ar-books"),
    Query("Persian", "نرخ بهره", "fa-rate"),
    Query("Persian", "بانک مرکزی ایران", "fa-rate"),
    Query("Persian", "نمایشگاه کتاب", "fa-books"),
    Query("Persian", "نمایشگه کتاب تهران", "fa-books", typo=True),
    Query("Spanish", "prevision crecimiento espana", "es-growth"),
    Query("Spanish", "previsón creciemiento", "es-growth", typo=True),
    Query("Portuguese", "eleicoes sao paulo", "pt-election"),
    Query("Portuguese", "eleiçoes segundo trno", "pt-election", typo=True),
)
