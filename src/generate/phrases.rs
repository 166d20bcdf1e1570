//! Phrase banks: the text of synthetic conversations, as templates with slots.
//!
//! Each bank holds templates in Simplified Chinese, English and code-switched Chinese/English
//! ("mixed", as written in Singapore and Malaysia). Traditional Chinese is made from the
//! Simplified templates once at start-up with zhconv's Taiwan variant (regional words included:
//! 软件 → 軟體), plus a few lines written in Traditional (Hong Kong Cantonese among them).
//! A mixed conversation takes most turns from the mixed templates and some from the Chinese or
//! English ones; banks without mixed templates always do.
//!
//! Slots such as `{order}` are filled once per conversation, so the order number a customer
//! gives is the one the agent repeats.
//!
//! The banks are written against `rubric/default.toml`: banks named after a rule (greeting,
//! closing, apology, customer distress, …) contain one of that rule's phrases verbatim, and the
//! neutral banks contain none of any agent rule — so a profile's behaviour (e.g. `cold` never
//! apologising) is exactly what the scores see. The unit tests check both with the real matcher.

use std::sync::LazyLock;

use zhconv::{Variant, zhconv};

use super::random::Rng;

/// The language of a synthetic conversation, with its declared share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Hans = 0,
    Hant = 1,
    En = 2,
    Mixed = 3,
}

impl Lang {
    pub const ALL: [Lang; 4] = [Lang::Hans, Lang::Hant, Lang::En, Lang::Mixed];
    /// Shares of new conversations: zh-Hans 30 %, zh-Hant 20 %, en 30 %, mixed 20 %.
    pub const SHARES: [f64; 4] = [0.30, 0.20, 0.30, 0.20];

    /// The `language` field written into the conversation.
    pub fn declared(self) -> &'static str {
        match self {
            Lang::Hans => "zh-Hans",
            Lang::Hant => "zh-Hant",
            Lang::En => "en",
            Lang::Mixed => "mixed",
        }
    }

    pub fn is_chinese(self) -> bool {
        matches!(self, Lang::Hans | Lang::Hant)
    }
}

/// What a conversation is about; also its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Billing = 0,
    Login = 1,
    Refund = 2,
    Bug = 3,
    Delivery = 4,
    Subscription = 5,
    Account = 6,
}

impl Topic {
    pub const ALL: [Topic; 7] = [
        Topic::Billing,
        Topic::Login,
        Topic::Refund,
        Topic::Bug,
        Topic::Delivery,
        Topic::Subscription,
        Topic::Account,
    ];
    pub const WEIGHTS: [f64; 7] = [18.0, 14.0, 16.0, 12.0, 20.0, 10.0, 10.0];

    pub fn tag(self) -> &'static str {
        match self {
            Topic::Billing => "billing",
            Topic::Login => "login",
            Topic::Refund => "refund",
            Topic::Bug => "bug",
            Topic::Delivery => "delivery",
            Topic::Subscription => "subscription",
            Topic::Account => "account",
        }
    }
}

/// A value filled into a template, the same within one conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Order = 0,
    Amount,
    Product,
    Plan,
    Days,
    Date,
    Card,
    Tracking,
    Code,
    Ticket,
    Email,
    Courier,
}

pub const N_SLOTS: usize = 12;

impl Slot {
    fn parse(name: &str) -> Option<Slot> {
        Some(match name {
            "order" => Slot::Order,
            "amount" => Slot::Amount,
            "product" => Slot::Product,
            "plan" => Slot::Plan,
            "days" => Slot::Days,
            "date" => Slot::Date,
            "card" => Slot::Card,
            "tracking" => Slot::Tracking,
            "code" => Slot::Code,
            "ticket" => Slot::Ticket,
            "email" => Slot::Email,
            "courier" => Slot::Courier,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(Box<str>),
    Slot(Slot),
}

/// A template split into literal text and slots once, at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub pieces: Vec<Piece>,
}

impl Template {
    fn parse(src: &str) -> Template {
        let mut pieces = Vec::new();
        let mut rest = src;
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}').map(|c| open + c).unwrap_or_else(|| {
                panic!("template {src:?}: '{{' without '}}'");
            });
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].into()));
            }
            let name = &rest[open + 1..close];
            let slot = Slot::parse(name)
                .unwrap_or_else(|| panic!("template {src:?}: unknown slot {name}"));
            pieces.push(Piece::Slot(slot));
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.into()));
        }
        Template { pieces }
    }
}

/// Templates of one bank in the source: Simplified, extra Traditional, English, mixed.
pub struct Src {
    pub hans: &'static [&'static str],
    pub hant: &'static [&'static str],
    pub en: &'static [&'static str],
    pub mixed: &'static [&'static str],
}

/// One bank, compiled: templates per [`Lang`].
#[derive(Debug, Clone)]
pub struct Bank {
    pub by_lang: [Vec<Template>; 4],
}

impl Bank {
    fn new(src: &Src) -> Bank {
        let parse = |list: &[&str]| list.iter().map(|t| Template::parse(t)).collect::<Vec<_>>();
        let mut hant: Vec<Template> =
            src.hans.iter().map(|t| Template::parse(&zhconv(t, Variant::ZhTW))).collect();
        hant.extend(parse(src.hant));
        Bank { by_lang: [parse(src.hans), hant, parse(src.en), parse(src.mixed)] }
    }

    /// A template for a turn in `lang`. Mixed conversations take 70 % of their turns from the
    /// mixed templates (all of them if `strict`), the rest half Chinese, half English.
    pub fn pick(&self, rng: &mut Rng, lang: Lang, strict: bool) -> &Template {
        let list = match lang {
            Lang::Mixed => {
                let mixed = &self.by_lang[Lang::Mixed as usize];
                if !mixed.is_empty() && (strict || rng.chance(0.7)) {
                    mixed
                } else if rng.chance(0.5) {
                    &self.by_lang[Lang::Hans as usize]
                } else {
                    &self.by_lang[Lang::En as usize]
                }
            }
            _ => &self.by_lang[lang as usize],
        };
        rng.pick(list)
    }

    /// Every template of every language (for tests).
    #[cfg(test)]
    pub fn all(&self) -> impl Iterator<Item = (Lang, &Template)> {
        Lang::ALL
            .into_iter()
            .flat_map(move |l| self.by_lang[l as usize].iter().map(move |t| (l, t)))
    }
}

fn topics(src: &[Src; 7]) -> [Bank; 7] {
    std::array::from_fn(|i| Bank::new(&src[i]))
}

/// All banks, compiled.
pub struct Phrases {
    // customer
    pub open: [Bank; 7],
    pub detail: [Bank; 7],
    pub mid: Bank,
    pub distress: Bank,
    pub complaint: Bank,
    pub churn: Bank,
    pub escalate: Bank,
    pub repeat: Bank,
    pub resolved: Bank,
    pub unresolved_end: Bank,
    pub thanks: Bank,
    // agent
    pub greet: Bank,
    pub greet_email: Bank,
    pub greet_phone: Bank,
    pub empathy: Bank,
    pub ack: Bank,
    pub apology: Bank,
    pub reassure: Bank,
    pub ask: [Bank; 7],
    pub check: Bank,
    pub content: [Bank; 7],
    pub followup: Bank,
    pub reply_thanks: Bank,
    pub closing: Bank,
    pub close_neutral: Bank,
    pub blame: Bank,
    pub dismissive: Bank,
    pub rude: Bank,
    pub promise: Bank,
    // system
    pub connect: Bank,
    pub left: Bank,
    // slot values
    pub product: Bank,
    pub plan: Bank,
    pub courier: Bank,
    pub user: Bank,
}

pub static PHRASES: LazyLock<Phrases> = LazyLock::new(|| Phrases {
    open: topics(&OPEN),
    detail: topics(&DETAIL),
    mid: Bank::new(&MID),
    distress: Bank::new(&DISTRESS),
    complaint: Bank::new(&COMPLAINT),
    churn: Bank::new(&CHURN),
    escalate: Bank::new(&ESCALATE),
    repeat: Bank::new(&REPEAT),
    resolved: Bank::new(&RESOLVED),
    unresolved_end: Bank::new(&UNRESOLVED_END),
    thanks: Bank::new(&THANKS),
    greet: Bank::new(&GREET),
    greet_email: Bank::new(&GREET_EMAIL),
    greet_phone: Bank::new(&GREET_PHONE),
    empathy: Bank::new(&EMPATHY),
    ack: Bank::new(&ACK),
    apology: Bank::new(&APOLOGY),
    reassure: Bank::new(&REASSURE),
    ask: topics(&ASK),
    check: Bank::new(&CHECK),
    content: topics(&CONTENT),
    followup: Bank::new(&FOLLOWUP),
    reply_thanks: Bank::new(&REPLY_THANKS),
    closing: Bank::new(&CLOSING),
    close_neutral: Bank::new(&CLOSE_NEUTRAL),
    blame: Bank::new(&BLAME),
    dismissive: Bank::new(&DISMISSIVE),
    rude: Bank::new(&RUDE),
    promise: Bank::new(&PROMISE),
    connect: Bank::new(&CONNECT),
    left: Bank::new(&LEFT),
    product: Bank::new(&PRODUCT),
    plan: Bank::new(&PLAN),
    courier: Bank::new(&COURIER),
    user: Bank::new(&USER),
});

// ---------------------------------------------------------------------------------------------
// customer: calm (no customer signal fires)
// ---------------------------------------------------------------------------------------------

const OPEN: [Src; 7] = [
    // billing
    Src {
        hans: &[
            "你好，我这个月的账单多扣了{amount}，能帮我看看吗？",
            "我的信用卡尾号{card}被扣了两次款，每次{amount}。",
            "请问为什么我的账单上多了一笔{amount}的费用？",
            "账单金额跟我算的不一样，差了{amount}。",
            "你好，我{date}已经付款了，系统还显示未付。",
            "在吗？发票上的金额好像不对。",
        ],
        hant: &["你好，我這個月的帳單被重複扣款了兩次，每次{amount}。"],
        en: &[
            "Hi, I was charged twice this month, {amount} each time.",
            "There's a charge of {amount} on my card ending {card} that I don't recognize.",
            "My invoice shows {amount} but my plan should be cheaper.",
            "Hello, I paid on {date} but my account still says the bill is unpaid.",
            "Can you explain the extra {amount} on my latest bill?",
        ],
        mixed: &[
            "hi，我的 bill 这个月多 charge 了 {amount}",
            "我的 credit card 被 charge 了两次，each time {amount}",
            "invoice 上面有一笔 {amount} 的 charge 我不认识",
            "我 {date} 已经 pay 了，system 还是显示 unpaid",
        ],
    },
    // login
    Src {
        hans: &[
            "你好，我登录不了账号，一直提示密码错误。",
            "我收不到验证码，登录不了。",
            "重置密码的邮件一直没收到。",
            "登录的时候提示错误代码{code}。",
            "换了新手机以后就登录不上了。",
        ],
        hant: &["你好，我登入唔到個帳戶，一直話密碼錯誤。"],
        en: &[
            "Hi, I can't log in to my account, it keeps saying my password is wrong.",
            "I'm not getting the verification code so I can't sign in.",
            "The password reset email never arrives.",
            "I get error {code} when I try to log in.",
            "I got a new phone and now the app won't let me log in.",
        ],
        mixed: &[
            "我 login 不了，一直说 password wrong",
            "verification code 一直收不到，how to login？",
            "reset password 的 email 我没收到",
            "login 的时候出现 error {code}",
        ],
    },
    // refund
    Src {
        hans: &[
            "你好，我申请的退款{days}天了还没到账。",
            "我退了{product}，退款什么时候到？",
            "订单{order}的退款还在处理中吗？",
            "我想申请退款，{product}用了一周就坏了。",
            "退货已经寄回去了，{amount}的退款一直没看到。",
        ],
        hant: &["請問訂單{order}的退款什麼時候會退到我的信用卡？"],
        en: &[
            "Hi, I requested a refund {days} days ago and it hasn't arrived yet.",
            "I returned the {product}, when will I get my money back?",
            "Is the refund for order {order} still being processed?",
            "I'd like a refund for the {product}, it stopped working after a week.",
            "I sent the return back but the {amount} refund hasn't shown up.",
        ],
        mixed: &[
            "我的 refund request 提交 {days} 天了还是 pending",
            "{product} 已经 return 了，refund 几时到？",
            "order {order} 的 refund 还在 process 吗？",
        ],
    },
    // bug
    Src {
        hans: &[
            "你好，APP一打开就闪退。",
            "点支付按钮没有反应，试了好几遍。",
            "页面一直加载不出来，显示错误{code}。",
            "更新到最新版本以后，订单页面打不开了。",
            "上传图片的时候一直失败。",
        ],
        hant: &["你好，App 一打開就當掉，重開也一樣。"],
        en: &[
            "Hi, the app crashes as soon as I open it.",
            "The checkout button doesn't do anything when I tap it.",
            "The page keeps loading forever and then shows error {code}.",
            "Since the latest update I can't open the order history page.",
            "Uploading a photo fails every time.",
        ],
        mixed: &[
            "app 一打开就 crash",
            "checkout 的 button 按了没反应",
            "page 一直 loading，然后显示 error {code}",
            "update 了之后 order history 打不开",
        ],
    },
    // delivery
    Src {
        hans: &[
            "你好，我的订单{order}三天了还没发货。",
            "快递显示已签收，但是我没拿到{product}。",
            "物流信息{days}天没有更新了。",
            "请问订单{order}什么时候能送到？",
            "寄来的{product}不是我订的颜色。",
        ],
        hant: &["你好，我的包裹已經{days}天沒有更新物流狀態了。"],
        en: &[
            "Hi, my order {order} still hasn't shipped after three days.",
            "Tracking says delivered but I never got my {product}.",
            "The tracking hasn't updated in {days} days.",
            "When will order {order} arrive?",
            "The {product} I got is the wrong color.",
        ],
        mixed: &[
            "hi，我的 order {order} 三天了还没 ship",
            "tracking 显示 delivered，但是我没拿到 {product}",
            "courier 的 tracking {days} 天没 update 了",
            "order {order} 大概 when 会到？",
        ],
    },
    // subscription
    Src {
        hans: &[
            "你好，我的{plan}自动续费了，想确认一下金额。",
            "我想把{plan}换成便宜一点的套餐。",
            "会员明明续费了，为什么还显示过期？",
            "续费扣了{amount}，跟页面上写的价格不一样。",
            "请问{plan}可以改成按月付吗？",
        ],
        hant: &["你好，我的{plan}自動續訂了，想確認一下扣款金額。"],
        en: &[
            "Hi, my {plan} renewed automatically and I want to check the amount.",
            "I'd like to change my {plan} to a cheaper option.",
            "I renewed my membership but it still shows as expired.",
            "The renewal charged {amount}, which isn't the price on the website.",
            "Can I pay for the {plan} monthly instead?",
        ],
        mixed: &[
            "我的 {plan} auto renew 了，想 check 一下金额",
            "membership 已经 renew 了，为什么还显示 expired？",
            "renewal charge 了 {amount}，跟 website 上的 price 不一样",
        ],
    },
    // account
    Src {
        hans: &[
            "你好，我想修改账号绑定的手机号。",
            "我的账号被锁定了，怎么解锁？",
            "我想更改账户的邮箱地址。",
            "账号里的个人信息显示不对。",
            "请问怎么给账号开通两步验证？",
        ],
        hant: &["你好，我想更改帳號綁定的手機號碼。"],
        en: &[
            "Hi, I need to change the phone number on my account.",
            "My account has been locked, how do I unlock it?",
            "I want to update the email address on my account.",
            "The personal details on my account are wrong.",
            "How do I turn on two-step verification?",
        ],
        mixed: &[
            "我想 change 账号的 phone number",
            "我的 account 被 lock 了，怎么 unlock？",
            "account 的 email address 要怎么 update？",
        ],
    },
];

const DETAIL: [Src; 7] = [
    Src {
        hans: &["订单号是{order}，扣了{amount}。", "卡号尾号是{card}。", "是{date}扣的款。"],
        hant: &[],
        en: &[
            "The order number is {order}.",
            "It's the card ending in {card}.",
            "The charge was on {date}.",
        ],
        mixed: &["order number 是 {order}", "card 尾号 {card}", "{date} charge 的"],
    },
    Src {
        hans: &["我的账号是{email}。", "我用的是手机号登录的。", "错误代码是{code}。"],
        hant: &[],
        en: &[
            "My username is {email}.",
            "I use my phone number to sign in.",
            "The error code is {code}.",
        ],
        mixed: &["我的 account 是 {email}", "error code 是 {code}"],
    },
    Src {
        hans: &[
            "订单号{order}，金额{amount}。",
            "我是{date}申请的退款。",
            "退货单号是{tracking}。",
        ],
        hant: &[],
        en: &[
            "Order {order}, {amount}.",
            "I asked for the refund on {date}.",
            "The return tracking number is {tracking}.",
        ],
        mixed: &["order 是 {order}，金额 {amount}", "return 的 tracking 是 {tracking}"],
    },
    Src {
        hans: &["我用的是安卓手机，版本是最新的。", "错误代码是{code}。", "截图已经发给你们了。"],
        hant: &[],
        en: &[
            "I'm on Android with the latest version.",
            "The error code is {code}.",
            "I've attached a screenshot.",
        ],
        mixed: &["我用 iPhone，app 是 latest version", "error code 是 {code}"],
    },
    Src {
        hans: &["订单号是{order}。", "快递单号{tracking}，是{courier}。", "收货地址没问题。"],
        hant: &[],
        en: &[
            "Order number {order}.",
            "The tracking number is {tracking} with {courier}.",
            "The delivery address is correct.",
        ],
        mixed: &["order number 是 {order}", "tracking number {tracking}，{courier} 的"],
    },
    Src {
        hans: &["我开的是{plan}。", "是{date}扣的续费。", "账号是{email}。"],
        hant: &[],
        en: &[
            "I'm on the {plan}.",
            "The renewal was charged on {date}.",
            "My account email is {email}.",
        ],
        mixed: &["我的 plan 是 {plan}", "{date} renew 的"],
    },
    Src {
        hans: &["账号是{email}。", "新的手机号我已经准备好。", "我在{date}改过一次密码。"],
        hant: &[],
        en: &[
            "The account email is {email}.",
            "I have the new number ready.",
            "I changed my password on {date}.",
        ],
        mixed: &["account 是 {email}", "新的 phone number 已经准备好"],
    },
];

const MID: Src = Src {
    hans: &[
        "好的，大概要多久？",
        "那我需要做什么吗？",
        "是的。",
        "嗯，明白。",
        "我刚刚试了一下，还是不行。",
        "需要我提供什么资料吗？",
        "能不能快一点？",
        "好的，我等一下。",
        "这个要收费吗？",
    ],
    hant: &["好的，大概要多久？唔該。"],
    en: &[
        "Okay, how long will that take?",
        "Is there anything I need to do?",
        "Yes, that's right.",
        "Okay, I see.",
        "I tried that but it still doesn't work.",
        "Do you need any other details from me?",
        "Can it be done any faster?",
        "Sure, I'll wait.",
        "Will I be charged for this?",
    ],
    mixed: &[
        "ok，大概要多久？",
        "那我需要 do 什么吗？",
        "yes 对的",
        "我 try 过了，还是不行",
        "need 我提供什么 info 吗？",
        "ok 我等一下",
    ],
};

const UNRESOLVED_END: Src = Src {
    hans: &[
        "好吧，那我再等等。",
        "行，那你们尽快。",
        "好的，有消息通知我。",
        "嗯，那我等你们的回复。",
    ],
    hant: &[],
    en: &[
        "Okay, I'll wait to hear back.",
        "Alright, please be quick.",
        "Fine, let me know when there's news.",
        "Okay, I'll keep an eye on my email.",
    ],
    mixed: &["ok 那我再等等", "好吧，let me know 有消息", "ok，你们 update 我"],
};

// ---------------------------------------------------------------------------------------------
// customer: signals (each template fires its rule)
// ---------------------------------------------------------------------------------------------

/// `customer_distress`.
const DISTRESS: Src = Src {
    hans: &[
        "真的很生气，怎么回事？",
        "太过分了，等了这么久！",
        "我真的很失望。",
        "这服务太差了。",
        "我快崩溃了，急死了。",
        "真的无语了，搞什么啊。",
        "这也太离谱了吧。",
        "我已经受不了了。",
        "你们这是坑人吧！",
        "气死我了，到底怎么回事。",
    ],
    hant: &["真係好嬲，到底怎麼回事？"],
    en: &[
        "This is really frustrating.",
        "Honestly this is ridiculous.",
        "I'm really upset about this.",
        "This is unacceptable.",
        "I'm so disappointed with your service.",
        "I'm fed up with this.",
        "This is terrible service.",
        "I'm getting really annoyed.",
        "This is the worst experience I've had.",
        "I'm furious right now.",
    ],
    mixed: &[
        "真的很 frustrated",
        "this is so ridiculous，等了这么久",
        "我真的很 upset",
        "你们的 service 太差了",
        "真的 unacceptable，怎么回事",
    ],
};

/// `complaint`.
const COMPLAINT: Src = Src {
    hans: &[
        "再不处理我就要投诉了。",
        "我要给差评。",
        "我要去消协反映。",
        "不解决我就打12315。",
        "我会去申诉的。",
    ],
    hant: &["再不處理我就去消基會申訴。"],
    en: &[
        "I'm going to file a complaint.",
        "I'll be leaving a bad review.",
        "If this isn't sorted I'll do a chargeback.",
        "I want to make a formal complaint.",
        "I'm contacting consumer protection about this.",
    ],
    mixed: &["我要 file complaint", "再不处理我就给 bad review", "我要投诉，this is not ok"],
};

/// `churn_risk`.
const CHURN: Src = Src {
    hans: &[
        "我要注销账号。",
        "不行我就换一家。",
        "我再也不用你们家了。",
        "帮我取消订阅吧。",
        "我想退订。",
    ],
    hant: &[],
    en: &[
        "I want to cancel my subscription.",
        "Please close my account.",
        "I'm going to switch to another provider.",
        "I'll take my business elsewhere.",
        "I will never use your service from now on.",
    ],
    mixed: &["我要 cancel my subscription", "close my account 吧", "我要 switch to 别家"],
};

/// `escalation_request`.
const ESCALATE: Src = Src {
    hans: &[
        "叫你们经理来跟我说。",
        "我要找你们主管。",
        "能不能让负责人来处理？",
        "把这个问题转给上级吧。",
    ],
    hant: &[],
    en: &[
        "I want to speak to a manager.",
        "Can you escalate this please?",
        "Let me talk to your supervisor.",
        "Please get someone senior to look at this.",
    ],
    mixed: &["我要找你们 manager", "can you escalate 一下？", "找你们 supervisor 来"],
};

/// `repeat_contact`: opens a returning customer's conversation.
const REPEAT: Src = Src {
    hans: &[
        "这是我第二次联系你们了。",
        "上次已经联系过了，问题还在。",
        "我之前联系过客服，还是老样子。",
        "又来找你们了，还是同一个问题。",
        "这个问题我已经反映好几次了。",
    ],
    hant: &[],
    en: &[
        "This is the second time I'm contacting you about this.",
        "I already contacted you about this.",
        "I'm writing again about the same issue.",
        "I've reached out several times now.",
        "Last time I was told it would be sorted.",
    ],
    mixed: &[
        "这是我 second time 联系你们了",
        "I already contacted 你们 before",
        "同一个 problem again",
    ],
};

/// `resolution`.
const RESOLVED: Src = Src {
    hans: &[
        "好了，现在正常了。",
        "可以了，搞定。",
        "解决了，谢谢。",
        "嗯，现在没问题了。",
        "成功了！",
    ],
    hant: &["搞掂，唔該晒。"],
    en: &[
        "That worked, thanks.",
        "It works now.",
        "Great, all good now.",
        "Okay, that did it.",
        "Perfect, problem solved.",
        "Yes, working now.",
    ],
    mixed: &["ok 可以了", "works now，thanks", "好了，all good", "解决了，thank you"],
};

/// `customer_thanks` (some also `customer_done`, answering "anything else?"); no question mark
/// (a final thank-you is not waiting for an answer).
const THANKS: Src = Src {
    hans: &[
        "好的，谢谢。",
        "谢谢，再见。",
        "多谢！",
        "好的谢谢，拜拜。",
        "辛苦了，谢谢。",
        "没有了，谢谢。",
    ],
    hant: &["好的，多謝晒。", "冇喇，多謝晒。"],
    en: &[
        "Thanks, bye.",
        "Thank you!",
        "Cheers.",
        "Okay thanks, goodbye.",
        "Appreciate it, thanks.",
        "No, that's all. Thanks!",
    ],
    mixed: &["ok thanks 拜拜", "好的 thank you", "谢谢，bye", "没有了，thanks"],
};

// ---------------------------------------------------------------------------------------------
// agent: rubric behaviours
// ---------------------------------------------------------------------------------------------

/// `greeting` (a prefix of the first reply).
const GREET: Src = Src {
    hans: &["您好，", "您好，很高兴为您服务。", "你好，", "您好，欢迎咨询。", "哈喽您好，"],
    hant: &[],
    en: &[
        "Hi!",
        "Hello!",
        "Hi there, thanks for reaching out.",
        "Hello, thank you for contacting us.",
    ],
    mixed: &["Hi 您好，", "hello，", "您好，thanks for reaching out，"],
};

const GREET_EMAIL: Src = Src {
    hans: &["您好，感谢您的来信。"],
    hant: &["您好，感謝您的來訊。"],
    en: &["Hello, and thank you for contacting us."],
    mixed: &[],
};

const GREET_PHONE: Src = Src {
    hans: &["您好，很高兴为您服务。"],
    hant: &[],
    en: &["Good morning, thanks for calling."],
    mixed: &[],
};

/// `acknowledge_feelings` + `apology` + `reassurance` in one go.
const EMPATHY: Src = Src {
    hans: &[
        "非常抱歉给您带来不便，请放心，我马上为您处理。",
        "我能理解您的心情，真的很抱歉，我会帮您尽快处理。",
        "让您久等了，实在抱歉，我来帮您处理。",
        "完全理解您的感受，对不起，这个问题一定帮您解决。",
        "辛苦您了，不好意思，我马上帮您查。",
    ],
    hant: &[],
    en: &[
        "I'm so sorry about this, I understand how frustrating it must be. I'll make sure it gets sorted today.",
        "I completely understand, and I apologize for the trouble. Rest assured, I'll sort this out.",
        "That sounds frustrating, I'm really sorry. Let me fix this for you right away.",
        "I hear you, and I'm sorry for the inconvenience. Don't worry, I'll personally follow up.",
        "My apologies for the wait, I can imagine how annoying this is. I'm going to fix it now.",
    ],
    mixed: &[
        "sorry 让您久等了，请放心，我马上帮您 check。",
        "我理解您的心情，很抱歉，I'll make sure 今天帮您 settle。",
        "I understand，不好意思，don't worry 我来帮您 follow up。",
    ],
};

/// `acknowledge_feelings` only.
const ACK: Src = Src {
    hans: &["我理解您的心情。", "让您久等了。", "辛苦您了。", "换作是我也会着急。"],
    hant: &[],
    en: &[
        "I understand how frustrating this is.",
        "I can imagine how annoying that is.",
        "I hear you.",
    ],
    mixed: &["我理解您的心情，", "I understand 您的 situation，"],
};

/// `apology` only.
const APOLOGY: Src = Src {
    hans: &["很抱歉。", "真是不好意思。", "对不起。"],
    hant: &[],
    en: &["I'm sorry about that.", "My apologies.", "Sorry for the trouble."],
    mixed: &["sorry 啊，", "不好意思，"],
};

/// `reassurance` only.
const REASSURE: Src = Src {
    hans: &["请放心，我会帮您处理好。", "我来帮您看看。", "我会第一时间为您跟进。"],
    hant: &[],
    en: &[
        "Rest assured, we'll get this fixed.",
        "Let me sort this out for you.",
        "I'll make sure this gets done.",
    ],
    mixed: &["放心，我会 follow up。", "don't worry，我来帮您 check。"],
};

/// `closing` (the end of the last reply).
const CLOSING: Src = Src {
    hans: &[
        "还有其他可以帮您的吗？",
        "还有其他问题吗？",
        "祝您生活愉快！",
        "感谢您的耐心，祝您购物愉快。",
        "有需要欢迎随时联系我们。",
        "祝您有美好的一天。",
    ],
    hant: &[],
    en: &[
        "Is there anything else I can help with?",
        "Have a great day!",
        "Thanks for your patience, take care.",
        "Feel free to reach out if anything else comes up.",
        "Have a nice day!",
    ],
    mixed: &[
        "还有其他问题吗？have a nice day!",
        "thanks for your patience，祝您生活愉快",
        "OK，have a great day!",
    ],
};

/// `blame_customer`.
const BLAME: Src = Src {
    hans: &[
        "这是你自己填错了。",
        "你没看清楚页面上的说明。",
        "这是你的问题。",
        "你操作错了才会这样。",
    ],
    hant: &[],
    en: &[
        "You entered it wrong, that's why.",
        "That's on you, the instructions were clear.",
        "You should have read the terms first.",
        "This is user error.",
    ],
    mixed: &["this is user error 啦", "你没看清楚 instructions"],
};

/// `dismissive`.
const DISMISSIVE: Src = Src {
    hans: &["这不是我们的问题。", "规定就是这样。", "这个我们管不了。", "这个不归我们管。"],
    hant: &[],
    en: &[
        "That's not our problem.",
        "There's nothing I can do.",
        "That's just how it is.",
        "Deal with it.",
    ],
    mixed: &["this is not our problem 啦", "nothing I can do，规定是这样"],
};

/// `rude` (critical).
const RUDE: Src = Src {
    hans: &["你烦不烦啊。", "听不懂人话吗？", "你是不是傻。", "有完没完。"],
    hant: &[],
    en: &["Are you deaf?", "Learn to read.", "Use your brain.", "What's wrong with you?"],
    mixed: &["你烦不烦啊，I already told you", "learn to read 好吗"],
};

/// `unapproved_promise`.
const PROMISE: Src = Src {
    hans: &["我保证今天之内给您弄好。", "百分之百能处理好。"],
    hant: &[],
    en: &["I guarantee it'll be done today.", "I promise you'll have it by tomorrow."],
    mixed: &["I promise 明天一定到"],
};

// ---------------------------------------------------------------------------------------------
// agent: neutral (no agent rule fires: no greeting, closing, empathy or forbidden phrase)
// ---------------------------------------------------------------------------------------------

const ASK: [Src; 7] = [
    Src {
        hans: &["请提供一下订单号，我查一下扣款记录。", "请问是哪一张卡被扣款的？"],
        hant: &[],
        en: &[
            "Could you send me the order number so I can check the charges?",
            "Which card was charged?",
        ],
        mixed: &["请给我 order number，我 check 一下", "是哪一张 card 被 charge 的？"],
    },
    Src {
        hans: &["请问您登录用的是手机号还是邮箱？", "请问提示的错误代码是什么？"],
        hant: &[],
        en: &[
            "Do you sign in with your phone number or your email?",
            "What error code do you see?",
        ],
        mixed: &["你是用 phone number 还是 email login 的？", "error code 是什么？"],
    },
    Src {
        hans: &["请提供一下订单号，我查一下退款进度。", "请问是哪个订单申请的退款？"],
        hant: &[],
        en: &[
            "Could you give me the order number so I can check the refund?",
            "Which order is the refund for?",
        ],
        mixed: &["请给我 order number，我 check 一下 refund status"],
    },
    Src {
        hans: &["请问您用的是什么手机和版本？", "方便发一张截图吗？"],
        hant: &[],
        en: &["Which phone and app version are you using?", "Could you send a screenshot?"],
        mixed: &["你用的是什么 phone 和 app version？", "可以 send 一张 screenshot 吗？"],
    },
    Src {
        hans: &["请提供一下订单号，我查一下物流。", "请问收货地址是哪里？"],
        hant: &[],
        en: &[
            "Could you share the order number so I can check the tracking?",
            "What's the delivery address?",
        ],
        mixed: &["请给我 order number，我 check 一下 tracking", "delivery address 是哪里？"],
    },
    Src {
        hans: &["请问您开通的是哪个套餐？", "请提供一下账号邮箱，我查一下续费记录。"],
        hant: &[],
        en: &[
            "Which plan are you on?",
            "Could you give me your account email so I can check the renewal?",
        ],
        mixed: &["你的 plan 是哪一个？", "请给我 account email，我 check 一下 renewal"],
    },
    Src {
        hans: &["请问账号绑定的邮箱是什么？", "请先告诉我账号，我核实一下身份。"],
        hant: &[],
        en: &[
            "What's the email on the account?",
            "Could you confirm the account email so I can verify it's you?",
        ],
        mixed: &["account 的 email 是什么？", "先给我 account，我 verify 一下"],
    },
];

const CONTENT: [Src; 7] = [
    Src {
        hans: &[
            "查到了，{date}的扣款确实重复了，多扣的{amount}已经申请退回。",
            "这笔{amount}是上个月的服务费，账单明细里可以看到。",
            "系统显示付款已经成功，账单状态稍后会更新。",
            "多扣的款项会在{days}个工作日内退回原卡。",
        ],
        hant: &[],
        en: &[
            "I can see the charge on {date} was duplicated; the extra {amount} has been sent back.",
            "That {amount} is last month's service fee, it's listed on your statement.",
            "The payment went through; the bill status will update shortly.",
            "The extra charge will go back to your card within {days} working days.",
        ],
        mixed: &[
            "查到了，{date} 的 charge 是 double 了，{amount} 已经 refund 回去",
            "payment 已经 success，bill status 等一下会 update",
        ],
    },
    Src {
        hans: &[
            "已经重置了密码，新的链接发到您的邮箱了。",
            "验证码可能被拦截了，请检查一下垃圾短信。",
            "您的账号因为密码输错被临时锁定，现在已经解锁。",
            "请先更新APP到最新版本，再重新登录试试。",
        ],
        hant: &[],
        en: &[
            "I've reset your password and sent a new link to your email.",
            "The code may have been filtered, please check your spam folder.",
            "Your account was locked after too many attempts; it's unlocked now.",
            "Please update the app to the latest version and sign in once more.",
        ],
        mixed: &[
            "我已经 reset 了你的 password，link 发到你的 email",
            "account 已经 unlock 了，你再 login 看看",
        ],
    },
    Src {
        hans: &[
            "退款已经审核通过，{amount}会在{days}个工作日内退回。",
            "退货已经签收，退款正在处理中。",
            "退款已经原路退回，请留意银行的通知。",
            "这个订单符合退款条件，已经提交了申请。",
        ],
        hant: &[],
        en: &[
            "The refund is approved; {amount} will be back in {days} working days.",
            "We received your return and the refund is being processed.",
            "The refund has been sent to your original payment method.",
            "This order qualifies for a refund and I've submitted it.",
        ],
        mixed: &[
            "refund 已经 approved，{amount} 大概 {days} 个 working days 到",
            "return 已经收到，refund 正在 process",
        ],
    },
    Src {
        hans: &[
            "这是已知的问题，技术团队正在修复。",
            "请先清除缓存，然后重新打开APP。",
            "已经把问题记录下来，工单号是{ticket}。",
            "请卸载后重新安装最新版本试试。",
        ],
        hant: &[],
        en: &[
            "This is a known issue and our engineers are working on it.",
            "Please clear the cache and then reopen the app.",
            "I've logged the issue as ticket {ticket}.",
            "Please reinstall the latest version and try once more.",
        ],
        mixed: &["这是 known issue，tech team 正在 fix", "你先 clear cache 然后 reopen app 看看"],
    },
    Src {
        hans: &[
            "查到了，包裹在{courier}的中转站，预计{days}天内送到。",
            "快递员放在了代收点，取件码已经发到您手机上。",
            "已经联系{courier}加急派送。",
            "订单已经重新发货，快递单号是{tracking}。",
        ],
        hant: &[],
        en: &[
            "Your parcel is at the {courier} depot and should arrive within {days} days.",
            "The courier left it at the pickup point; the pickup code was sent to your phone.",
            "I've asked {courier} to prioritise the delivery.",
            "The order has been reshipped, tracking number {tracking}.",
        ],
        mixed: &[
            "parcel 现在在 {courier} 的 hub，大概 {days} 天到",
            "order 已经 reship 了，tracking number 是 {tracking}",
        ],
    },
    Src {
        hans: &[
            "您的{plan}是{date}自动续费的，金额是{amount}。",
            "套餐可以在账户设置里更换，下个周期生效。",
            "续费已经成功，会员状态刚刚刷新了。",
            "差价{amount}会退回到您的原支付方式。",
        ],
        hant: &[],
        en: &[
            "Your {plan} renewed on {date} for {amount}.",
            "You can change plans under account settings; it applies from the next cycle.",
            "The renewal went through and your membership status is refreshed now.",
            "The difference of {amount} will go back to your original payment method.",
        ],
        mixed: &[
            "你的 {plan} 是 {date} auto renew 的，{amount}",
            "plan 可以在 settings 里面 change，下个 cycle 生效",
        ],
    },
    Src {
        hans: &[
            "手机号可以在账户设置的安全中心修改。",
            "账号已经解锁，请重新登录。",
            "修改邮箱需要先验证原邮箱。",
            "两步验证可以在安全设置里开启。",
        ],
        hant: &[],
        en: &[
            "You can change the phone number under account settings, security.",
            "Your account is unlocked now, please sign in.",
            "To change the email we first need to verify the current one.",
            "Two-step verification can be turned on under security settings.",
        ],
        mixed: &[
            "phone number 可以在 account settings 里面 change",
            "account 已经 unlock，你再 login 看看",
        ],
    },
];

/// Checking (neutral), when the first reply does not ask.
const CHECK: Src = Src {
    hans: &["我查一下。", "稍等，我看一下。"],
    hant: &[],
    en: &["Let me check.", "One moment while I look into it."],
    mixed: &["ok 我 check 一下"],
};

/// The matter is not settled yet.
const FOLLOWUP: Src = Src {
    hans: &[
        "已经提交给相关部门，有进展会短信通知您。",
        "这个需要后台处理，预计{days}个工作日内回复您。",
        "已经登记了工单{ticket}，请留意邮件。",
    ],
    hant: &[],
    en: &[
        "I've passed this to our technical team and we'll email you with an update.",
        "This needs a back-office check; expect a reply within {days} working days.",
        "I've logged ticket {ticket}; you'll get an email once it's done.",
    ],
    mixed: &[
        "我已经 escalate 给 tech team，有 update 会通知你",
        "ticket {ticket} 已经开了，please check 你的 email",
    ],
};

/// Answering a thank-you or a confirmation.
const REPLY_THANKS: Src = Src {
    hans: &["不客气。", "好的。", "不用客气。"],
    hant: &[],
    en: &["You're welcome.", "Glad it's sorted.", "Great."],
    mixed: &["不客气，", "no problem，"],
};

/// How a scriptless agent ends.
const CLOSE_NEUTRAL: Src = Src {
    hans: &["好的。", "已处理。", "就这样。", "处理好了。"],
    hant: &[],
    en: &["Okay.", "Done.", "That's all on our side.", "Noted."],
    mixed: &["ok 的", "done 了"],
};

// ---------------------------------------------------------------------------------------------
// system turns (never judged)
// ---------------------------------------------------------------------------------------------

const CONNECT: Src = Src {
    hans: &["您已接入人工客服。", "会话已从智能助手转接至人工客服。"],
    hant: &[],
    en: &[
        "You are now connected to a support agent.",
        "Chat transferred from the virtual assistant.",
    ],
    mixed: &[],
};

const LEFT: Src = Src {
    hans: &["客户已离开会话。"],
    hant: &[],
    en: &["The customer has left the chat."],
    mixed: &[],
};

// ---------------------------------------------------------------------------------------------
// slot values
// ---------------------------------------------------------------------------------------------

const PRODUCT: Src = Src {
    hans: &[
        "蓝牙耳机",
        "电饭煲",
        "运动鞋",
        "保温杯",
        "机械键盘",
        "空气净化器",
        "扫地机器人",
        "羽绒服",
        "行李箱",
        "台灯",
        "显示器",
        "手机壳",
    ],
    hant: &[],
    en: &[
        "wireless earbuds",
        "rice cooker",
        "running shoes",
        "water bottle",
        "keyboard",
        "air purifier",
        "robot vacuum",
        "winter jacket",
        "suitcase",
        "desk lamp",
        "monitor",
        "phone case",
    ],
    mixed: &["earbuds", "air fryer", "sneakers", "keyboard", "power bank", "smart watch"],
};

const PLAN: Src = Src {
    hans: &["年度会员", "月度会员", "高级版", "家庭套餐"],
    hant: &[],
    en: &["annual plan", "monthly plan", "Premium plan", "Family plan"],
    mixed: &["annual plan", "Premium", "family plan"],
};

const COURIER: Src = Src {
    hans: &["顺丰", "中通", "圆通", "京东物流"],
    hant: &["黑貓宅急便", "新竹物流"],
    en: &["UPS", "FedEx", "DHL", "USPS"],
    mixed: &["Ninja Van", "J&T", "DHL"],
};

const USER: Src = Src {
    hans: &["wang", "li", "zhang", "chen", "liu"],
    hant: &[],
    en: &["alex", "sam", "jordan", "taylor", "morgan"],
    mixed: &["wei", "mei", "jun", "kai"],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crate::rubric::MatchScratch;
    use crate::segment::Segmented;

    /// Fills a template with fixed values (the tests check phrases, not values).
    fn text(t: &Template) -> String {
        let mut s = String::new();
        for p in &t.pieces {
            match p {
                Piece::Text(x) => s.push_str(x),
                Piece::Slot(_) => s.push_str("DD20261102001"),
            }
        }
        s
    }

    struct Checker {
        engine: Engine,
    }

    impl Checker {
        fn new() -> Checker {
            Checker { engine: Engine::with_default_rubric().unwrap() }
        }

        fn segment(&self, s: &str) -> Segmented {
            self.engine.segmenter.segment(s)
        }

        /// Rules whose phrases occur (not negated) in `s`, and the negated ones.
        fn hits(&self, s: &str) -> (Vec<String>, Vec<String>) {
            let seg = self.segment(s);
            let mut out = Vec::new();
            self.engine.rubric.matcher.find(&seg, &mut MatchScratch::default(), &mut out);
            let id = |h: &crate::rubric::Hit| self.engine.rubric.rules[h.rule as usize].id.clone();
            let mut hit: Vec<String> = out.iter().filter(|h| !h.negated).map(id).collect();
            let mut neg: Vec<String> = out.iter().filter(|h| h.negated).map(id).collect();
            hit.dedup();
            neg.dedup();
            (hit, neg)
        }
    }

    const AGENT_RULES: &[&str] = &[
        "greeting",
        "closing",
        "blame_customer",
        "dismissive",
        "rude",
        "unapproved_promise",
        "acknowledge_feelings",
        "apology",
        "reassurance",
    ];
    const SIGNALS: &[&str] = &[
        "customer_distress",
        "complaint",
        "churn_risk",
        "escalation_request",
        "repeat_contact",
        "resolution",
        "customer_done",
    ];
    const FORBIDDEN: &[&str] = &["blame_customer", "dismissive", "rude", "unapproved_promise"];
    const EMPATHY_RULES: &[&str] = &["acknowledge_feelings", "apology", "reassurance"];

    /// Every template of `bank` fires all of `must` and none of `must_not`.
    fn check(
        c: &Checker,
        name: &str,
        bank: &Bank,
        must: &[&str],
        must_not: &[&str],
        errors: &mut Vec<String>,
    ) {
        for (lang, t) in bank.all() {
            let s = text(t);
            let (hit, neg) = c.hits(&s);
            for m in must {
                if !hit.iter().any(|h| h == m) {
                    errors.push(format!(
                        "{name} [{lang:?}] {s:?}: should fire {m}, fires {hit:?} (negated {neg:?})"
                    ));
                }
            }
            for m in must_not {
                if hit.iter().any(|h| h == m) {
                    errors.push(format!("{name} [{lang:?}] {s:?}: must not fire {m}"));
                }
            }
        }
    }

    #[test]
    fn every_bank_fires_exactly_the_rules_it_is_written_for() {
        let c = Checker::new();
        let p = &*PHRASES;
        let mut e = Vec::new();
        let not_signal = |keep: &[&str]| -> Vec<&str> {
            SIGNALS.iter().copied().filter(|s| !keep.contains(s)).collect()
        };
        let all_but = |keep: &[&str]| -> Vec<&str> {
            AGENT_RULES.iter().copied().filter(|s| !keep.contains(s)).collect()
        };
        // customer, calm
        for (i, b) in p.open.iter().enumerate() {
            check(&c, &format!("open[{i}]"), b, &[], SIGNALS, &mut e);
        }
        for (i, b) in p.detail.iter().enumerate() {
            check(&c, &format!("detail[{i}]"), b, &[], SIGNALS, &mut e);
        }
        check(&c, "mid", &p.mid, &[], SIGNALS, &mut e);
        check(&c, "unresolved_end", &p.unresolved_end, &[], SIGNALS, &mut e);
        // customer, signals
        check(
            &c,
            "distress",
            &p.distress,
            &["customer_distress"],
            &not_signal(&["customer_distress"]),
            &mut e,
        );
        check(
            &c,
            "complaint",
            &p.complaint,
            &["complaint"],
            &not_signal(&["complaint", "customer_distress"]),
            &mut e,
        );
        check(&c, "churn", &p.churn, &["churn_risk"], &not_signal(&["churn_risk"]), &mut e);
        check(
            &c,
            "escalate",
            &p.escalate,
            &["escalation_request"],
            &not_signal(&["escalation_request"]),
            &mut e,
        );
        check(
            &c,
            "repeat",
            &p.repeat,
            &["repeat_contact"],
            &not_signal(&["repeat_contact"]),
            &mut e,
        );
        check(&c, "resolved", &p.resolved, &["resolution"], &not_signal(&["resolution"]), &mut e);
        check(
            &c,
            "thanks",
            &p.thanks,
            &["customer_thanks"],
            &not_signal(&["customer_done"]),
            &mut e,
        );
        // agent, rubric behaviours
        for (name, b) in
            [("greet", &p.greet), ("greet_email", &p.greet_email), ("greet_phone", &p.greet_phone)]
        {
            check(&c, name, b, &["greeting"], &all_but(&["greeting", "closing"]), &mut e);
        }
        check(&c, "empathy", &p.empathy, EMPATHY_RULES, &all_but(EMPATHY_RULES), &mut e);
        check(
            &c,
            "ack",
            &p.ack,
            &["acknowledge_feelings"],
            &all_but(&["acknowledge_feelings"]),
            &mut e,
        );
        check(&c, "apology", &p.apology, &["apology"], &all_but(&["apology"]), &mut e);
        check(&c, "reassure", &p.reassure, &["reassurance"], &all_but(&["reassurance"]), &mut e);
        check(&c, "closing", &p.closing, &["closing"], &all_but(&["closing", "greeting"]), &mut e);
        for (name, b, rule) in [
            ("blame", &p.blame, "blame_customer"),
            ("dismissive", &p.dismissive, "dismissive"),
            ("rude", &p.rude, "rude"),
            ("promise", &p.promise, "unapproved_promise"),
        ] {
            check(&c, name, b, &[rule], &all_but(&[rule]), &mut e);
            // one utterance, one penalty
            let others: Vec<&str> = FORBIDDEN.iter().copied().filter(|f| *f != rule).collect();
            check(&c, name, b, &[], &others, &mut e);
        }
        // agent, neutral
        for (i, b) in p.ask.iter().enumerate() {
            check(&c, &format!("ask[{i}]"), b, &[], AGENT_RULES, &mut e);
        }
        for (i, b) in p.content.iter().enumerate() {
            check(&c, &format!("content[{i}]"), b, &[], AGENT_RULES, &mut e);
        }
        for (name, b) in [
            ("check", &p.check),
            ("followup", &p.followup),
            ("reply_thanks", &p.reply_thanks),
            ("close_neutral", &p.close_neutral),
        ] {
            check(&c, name, b, &[], AGENT_RULES, &mut e);
        }
        assert!(
            e.is_empty(),
            "{} template(s) do not fire as intended (help: use a phrase of rubric/default.toml verbatim, \
             on word boundaries, with no negator in the 3 words before it):\n{}",
            e.len(),
            e.join("\n")
        );
    }

    #[test]
    fn openings_are_detected_in_their_language() {
        use crate::segment::language::Language;
        let c = Checker::new();
        let mut errors = Vec::new();
        for (i, b) in PHRASES.open.iter().enumerate() {
            for (lang, t) in b.all() {
                let s = text(t);
                let got = c.segment(&s).language;
                let want = match lang {
                    Lang::Hans => Language::ZhHans,
                    Lang::Hant => Language::ZhHant,
                    Lang::En => Language::En,
                    Lang::Mixed => Language::Mixed,
                };
                if got != want {
                    errors.push(format!("open[{i}] {s:?}: detected {got:?}, declared {lang:?}"));
                }
            }
        }
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }

    #[test]
    fn templates_parse_slots() {
        let t = Template::parse("订单{order}，金额{amount}");
        assert_eq!(
            t.pieces,
            [
                Piece::Text("订单".into()),
                Piece::Slot(Slot::Order),
                Piece::Text("，金额".into()),
                Piece::Slot(Slot::Amount)
            ]
        );
        // Traditional is made from Simplified with the Taiwan variant.
        let hant = &PHRASES.open[Topic::Account as usize].by_lang[Lang::Hant as usize][0];
        assert!(text(hant).contains("帳號"), "{:?}", text(hant));
    }
}
