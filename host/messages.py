"""The message catalogue: message id -> (English, Chinese), rendered by ``host.i18n.text``.

Each text is a ``str.format`` template; both languages fill the same named fields (a test
checks it). Ids are grouped by where they are shown: ``cmd.*`` the one-line summary of a
command in ``sealcam --help`` (the English is the summary the command declares), ``usage.*``
the one-line refusals of unusable arguments (exit 2), ``verdict.*`` the words of a
verification verdict, ``report.*`` the labels of a verification report, ``record.*`` the
recorder's summary, ``term.*`` the officer's terminal. The Chinese is in the plain register
of public-security software: short, exact, no figures of speech.
"""

MESSAGES: "dict[str, tuple[str, str]]" = {
    # sealcam itself
    "main.description": (
        "Signed, tamper-evident evidence for enforcement recorders. Every frame chunk and "
        "event a recorder writes is an entry in one hash-chained ledger signed with the "
        "device's Ed25519 key; these commands check and manage that evidence.",
        "执法记录仪防篡改签名证据系统。记录仪写入的每个视频分段和每个事件，都是一条用设备 "
        "Ed25519 密钥签名、以哈希链相连的签名日志记录；以下命令用于校验和管理这些证据。",
    ),
    "main.epilog": (
        "Exit codes: 0 success or OK, 1 verification NOT OK, 2 unusable input. "
        "Run 'sealcam COMMAND --help' for each command.",
        "退出码：0 成功或校验通过，1 校验不通过，2 输入无法使用。"
        "各命令的用法请运行 'sealcam 命令 --help'。",
    ),
    "main.lang": (
        "language of the messages: en (English) or zh (Chinese); default from the locale "
        "(LC_ALL, LC_MESSAGES, LANG: zh_* is Chinese). JSON output is never translated",
        "提示信息的语言：en（英文）或 zh（中文）；默认依据系统区域设置"
        "（LC_ALL、LC_MESSAGES、LANG，zh_* 为中文）。JSON 输出不翻译",
    ),
    "main.failed": ("sealcam {command}: {problem}", "sealcam {command}：{problem}"),
    "main.plugin_broken": (
        "sealcam: the command plugin {name} ({value}) could not be loaded: {error}",
        "sealcam：命令插件 {name}（{value}）无法加载：{error}",
    ),
    # argparse's own words (host.cli.argwords): the English is argparse's, word for word
    "argparse.usage": ("usage: ", "用法："),
    "argparse.positional": ("\npositional arguments:\n", "\n位置参数：\n"),
    "argparse.options": ("\noptions:\n", "\n选项：\n"),
    "argparse.help": ("show this help message and exit", "显示本帮助并退出"),
    "argparse.error": ("{prog}: error: {problem}", "{prog}：错误：{problem}"),
    "argparse.argument": ("argument {name}: {problem}", "参数 {name}：{problem}"),
    "argparse.required": (
        "the following arguments are required: {names}",
        "缺少必需的参数：{names}",
    ),
    "argparse.one_required": (
        "one of the arguments {names} is required",
        "以下参数必须给出一个：{names}",
    ),
    "argparse.unrecognized": ("unrecognized arguments: {args}", "无法识别的参数：{args}"),
    "argparse.choice": (
        "invalid choice: {value} (choose from {choices})",
        "无效的选项：{value}（可选：{choices}）",
    ),
    "argparse.one_value": ("expected one argument", "此参数需要一个值"),
    "argparse.not_with": ("not allowed with argument {other}", "不能与参数 {other} 同时使用"),
    "argparse.invalid_value": ("invalid {type} value: {value}", "无效的 {type} 值：{value}"),
    # one line per command in `sealcam --help`
    "cmd.verify": ("check a ledger against a device's public key", "用设备公钥校验签名日志"),
    "cmd.ledger": (
        "export a device store's ledger as one file",
        "将设备存储的签名日志导出为单个文件",
    ),
    "cmd.ledger export": (
        "write the store's ledger entries to one file",
        "把存储中的签名日志条目写入一个文件",
    ),
    "cmd.checkpoint": (
        "export the evidence store's newest signed checkpoint for a witness",
        "导出证据库最新的签名检查点，交见证方保存",
    ),
    "cmd.checkpoint export": (
        "write the newest signed checkpoint (a signed note)",
        "写出最新的签名检查点（一份签名文件）",
    ),
    "cmd.keygen": (
        "make a device key pair (simulated devices, tests), or the agency's keys",
        "生成设备密钥对（用于模拟设备和测试），或生成单位密钥",
    ),
    "cmd.record": (
        "run the recorder agent on this machine (Linux terminal port)",
        "在本机运行记录仪程序（Linux 终端版）",
    ),
    "cmd.enrol": ("enrol device public keys in an evidence store", "将设备公钥登记到证据库"),
    "cmd.sync": (
        "collect footage from devices over TCP and serial",
        "通过 TCP 或串口从设备采集录像",
    ),
    "cmd.dock": (
        "sync a device store to a host (the device's side)",
        "将设备存储同步到采集站（设备端）",
    ),
    "cmd.demo": (
        "the main job end to end: a virtual shift, docked, verified, exported, tampered",
        "完整流程演示：模拟一个班次，采集、校验、导出，并演示篡改被发现",
    ),
    "cmd.export": (
        "export a recording as a video file with its extraction note",
        "将一段录像导出为视频文件，并附提取说明",
    ),
    "cmd.flash": (
        "flash the agent onto a MicroPython board and provision it",
        "将记录仪程序烧录到 MicroPython 开发板并完成初始化",
    ),
    "cmd.sim": (
        "virtual recorders: run a scenario, serve a virtual MicroPython board",
        "模拟记录仪：运行测试场景，提供虚拟 MicroPython 开发板",
    ),
    "cmd.sim run": (
        "run a scenario file and check the host's verdict",
        "运行场景文件并核对采集站的校验结论",
    ),
    "cmd.sim board": (
        "run a virtual MicroPython board on a pseudo-terminal",
        "在伪终端上运行虚拟 MicroPython 开发板",
    ),
    # host/cli/common.py: arguments that cannot be used (exit 2)
    "usage.id_too_long": (
        "{what} is {length} characters long; the protocol allows ids of 1..{limit} "
        "characters: choose a shorter one",
        "{what}长 {length} 个字符；协议允许的编号长度为 1 至 {limit} 个字符，请改用更短的编号",
    ),
    "usage.what_device_id": ("the device id", "设备编号"),
    "usage.what_host_id": ("the host id", "采集站编号"),
    "usage.public_not_private": (
        "{path} is a public key; the host needs its private key to sign",
        "{path} 是公钥文件；采集站签名需要其私钥文件",
    ),
    "usage.address": (
        "give an address as HOST:PORT (a port up to 65535), not {text!r}",
        "地址格式应为 主机:端口（端口不大于 65535），而不是 {text!r}",
    ),
    "usage.number_at_least": (
        "give a number of at least {minimum:g}, not {text!r}",
        "请给出不小于 {minimum:g} 的数值，而不是 {text!r}",
    ),
    "usage.number_above": (
        "give a number above {minimum:g}, not {text!r}",
        "请给出大于 {minimum:g} 的数值，而不是 {text!r}",
    ),
    # verdict words (protocol.verify, host.mp4verify states)
    "verdict.ok": ("OK", "通过"),
    "verdict.ok_missing": ("OK with missing information", "通过（信息缺失）"),
    "verdict.not_ok": ("NOT OK", "不通过"),
    "verdict.unknown_key": ("unknown key", "密钥未知"),
    "verdict.authentic": ("AUTHENTIC", "真实"),
    "verdict.authentic_notes": ("AUTHENTIC WITH NOTES", "真实（附说明）"),
    "verdict.missing_parts": ("MISSING PARTS", "部分缺失"),
    "verdict.unverifiable": ("UNVERIFIABLE", "无法验证"),
    "verdict.altered": ("ALTERED", "已被篡改"),
    # host/mp4verify.py: the closing line of `sealcam verify FILE.mp4`
    "mp4.verdict.authentic": (
        "✓ {word}: every signed fragment is in the file, unchanged and in order",
        "✓ {word}：所有签名片段都在文件中，未被改动，顺序无误",
    ),
    "mp4.verdict.authentic_notes": (
        "✓ {word}: every signed fragment is in the file, unchanged and in order; the notes "
        "above are not footage and carry no signature",
        "✓ {word}：所有签名片段都在文件中，未被改动，顺序无误；上面的说明不是录像内容，不带签名",
    ),
    "mp4.verdict.missing_parts": (
        "✗ {word}: what is in the file is as signed, but not all of it",
        "✗ {word}：文件中的内容与签名一致，但并不完整",
    ),
    "mp4.verdict.unverifiable": (
        "✗ {word}: no key or certificate given that signed this (see above)",
        "✗ {word}：所给的密钥或证书都不是签署本文件的那一个（见上文）",
    ),
    "mp4.verdict.altered": (
        "✗ {word}: the file is not what the device signed (see the findings above)",
        "✗ {word}：文件已不是设备签名时的样子（见上文的检查结果）",
    ),
    "mp4.verdict.unsigned": (
        "✗ NOT SIGNED: nothing in this file can be checked",
        "✗ 未签名：本文件中没有任何可校验的内容",
    ),
    # host/report_text.py: a ledger's verification report
    "report.ledger": ("Ledger   {source}", "签名日志  {source}"),
    "report.device": ("Device   {device}", "设备      {device}"),
    "report.entries": (
        "Entries  {entries} ({signed} signed)",
        "记录数    {entries}（已签名 {signed}）",
    ),
    "report.seq": (", seq {first} to {last}", "，序号 {first} 至 {last}"),
    "report.time": ("Time     {first} to {last}", "时间      {first} 至 {last}"),
    "report.no_time": ("Time     none", "时间      无"),
    "report.state": ("State    {mark} {state}", "结论      {mark} {state}"),
    "report.findings": ("Findings", "发现的问题"),
    # the officer's terminal (firmware.ports.terminalkeys, firmware.ports.cpython.Terminal)
    "key.title": ("Keys:", "按键说明："),
    "key.record": (
        "  {key}  record (pre-record runs until then)",
        "  {key}  开始录像（此前为预录）",
    ),
    "key.announced": ("  {key}  announcement said", "  {key}  已宣读告知语"),
    "key.narrated": (
        "  {key}  time, place, officers and action narrated",
        "  {key}  已口述时间、地点、执法人员和执法事项",
    ),
    "key.pause": (
        "  {key}  pause, with a reason from the list",
        "  {key}  暂停录像（从列表选择原因）",
    ),
    "key.resume": ("  {key}  resume, then state the reason", "  {key}  恢复录像，并口述中断原因"),
    "key.reason_done": ("  {key}  reason stated", "  {key}  中断原因陈述完毕"),
    "key.mark": ("  {key}  mark this moment important", "  {key}  标记为重点"),
    "key.no_record": (
        "  {key}  work record: a duty that cannot be recorded, with its reason",
        "  {key}  无法录像的工作记录（选择原因）",
    ),
    "key.stop": ("  {key}  stop recording", "  {key}  停止录像"),
    "key.quit": ("  {key}  stop and quit", "  {key}  停止并退出"),
    "key.help": ("  {key}  show these keys", "  {key}  显示按键说明"),
    "key.unknown": (
        "no key {key}: press h for the keys",
        "无此按键 {key}：按 h 查看按键说明",
    ),
    "key.not_now": ("not possible now ({state})", "当前状态（{state}）下不能执行此操作"),
    "menu.pause": ("Why pause? Press the number:", "暂停原因（按数字选择）："),
    "menu.no_record": (
        "Why can it not be recorded? Press the number:",
        "无法录像的原因（按数字选择）：",
    ),
    "menu.note": (
        "Type a short note and press Enter (Esc cancels):",
        "请输入简要说明，按回车确认（按 Esc 取消）：",
    ),
    "menu.cancelled": ("cancelled", "已取消"),
    "reason.item": ("  {key}  {reason}", "  {key}  {reason}"),
    "reason.cancel": ("  any other key cancels", "  按其他键取消"),
    "pause.fault": ("equipment fault", "设备故障"),
    "pause.damage": ("equipment damaged", "设备损坏"),
    "pause.weather": ("weather", "恶劣天气"),
    "pause.battery": ("battery low", "电量不足"),
    "pause.storage": ("storage full", "存储空间不足"),
    "pause.place-change": ("moving to another place", "转换执法场所"),
    "pause.obstruction": ("obstructed", "现场受阻"),
    "pause.other": ("other objective reason", "其他客观原因"),
    "no_record.explosive-area": ("explosive area", "易燃易爆场所"),
    "no_record.secrecy": ("secrecy", "涉及秘密"),
    "no_record.privacy": ("privacy", "涉及个人隐私"),
    "no_record.emergency": ("emergency", "紧急情况"),
    "no_record.objective-cause": ("other objective cause", "其他客观原因"),
    "state.SELF_CHECK": ("self-check", "自检中"),
    "state.IDLE": ("ready", "待机"),
    "state.PRE_RECORD": ("pre-record", "预录中"),
    "state.RECORDING": ("RECORDING", "录像中"),
    "state.RESUMING": ("RECORDING, stating the reason", "录像中（陈述中断原因）"),
    "state.PAUSED": ("PAUSED", "已暂停"),
    "state.REFUSING": ("CANNOT RECORD", "无法录像"),
    "status.line": (
        "[{state}] {time}  battery {battery}  storage {hours} h  chunks {chunks}",
        "[{state}] {time}  电量 {battery}  可录 {hours} 小时  分段 {chunks}",
    ),
    "buzzer.power-on": ("recorder on", "记录仪已开机"),
    "buzzer.record-start": ("recording started", "开始录像"),
    "buzzer.record-stop": ("recording stopped", "停止录像"),
    "buzzer.pause": ("recording paused", "录像已暂停"),
    "buzzer.resume": ("recording resumed", "录像已恢复"),
    "buzzer.mark": ("marked important", "已标记重点"),
    "buzzer.refused": ("recording refused", "拒绝录像"),
    "buzzer.alert": ("alert", "警示"),
    "prompt.announce": (
        'Say the announcement: "{text}" then press a',
        "请宣读：“{text}”宣读完毕按 a",
    ),
    "prompt.narrate": ("Narrate: {text}; then press n", "{text}；口述完毕按 n"),
    "prompt.reason": (
        "State the reason for the pause ({text}); it is recorded from the microphone; "
        "press d when done",
        "{text}（正在通过麦克风录音），说完按 d",
    ),
    "prompt.other": ("Device: {text}", "提示：{text}"),
    # host/cli/record.py: the recorder's summary
    "record.summary": (
        "recorded {frames} {codec} frames and {sound} into {store}: {entries} ledger "
        "entries, {media_bytes} media bytes; ledger {state}",
        "已录制 {frames} 帧 {codec} 画面，{sound}，存入 {store}：签名日志 {entries} 条，"
        "媒体 {media_bytes} 字节；签名日志校验{state}",
    ),
    "record.sound": ("{count} audio frames", "声音 {count} 帧"),
    "record.no_sound": ("no sound", "无声音"),
    "record.bad_agency": (
        "{path} must hold the agency's 32-byte X25519 public key",
        "{path} 应为单位的 32 字节 X25519 公钥文件",
    ),
    "record.wrong_device": (
        "{path} belongs to device {device}, not {given}",
        "{path} 属于设备 {device}，不是 {given}",
    ),
    "record.public_key": (
        "{path} is a public key; the recorder needs its private key",
        "{path} 是公钥文件；记录仪需要其私钥文件",
    ),
    "record.no_key": (
        "no device key at {path}: pass --device-id to provision one",
        "{path} 处没有设备密钥：请用 --device-id 生成设备密钥",
    ),
    "record.no_store": ("cannot make the store {path}: {why}", "无法创建存储目录 {path}：{why}"),
    "record.keys_and_input": (
        "--keys - and --input - both read standard input: give the key script as a file",
        "--keys - 与 --input - 都要读取标准输入：请把按键脚本写成文件",
    ),
    "record.source_failed": (
        "sealcam record: {problem}; the recording was stopped and is signed up to there",
        "sealcam record：{problem}；录像已停止，此前的内容均已签名",
    ),
    "record.input_ended_early": (
        "sealcam record: the input ended {how} after {frames} frames: the recording was "
        "stopped there and everything before it is signed; check the encoder and its pipe",
        "sealcam record：输入在 {frames} 帧后中断（{how}）：录像已在此停止，此前的内容均已签名；"
        "请检查编码器及其管道",
    ),
    "prompt.no_mic": (
        "no microphone (--mic): the reason cannot be recorded, and the host will flag it",
        "未接麦克风（--mic）：中断原因无法录音，采集站将标记此问题",
    ),
    # acting as a person on the evidence (host.cli.auth)
    "auth.evidence": ("the evidence store directory", "证据库目录"),
    "auth.user": (
        "act as this user (default: ${env}); the password comes from ${password_env}, "
        "else a prompt",
        "以该用户身份操作（默认取 ${env}）；密码取自 ${password_env}，否则在终端提示输入",
    ),
    "auth.no_user": (
        "say who is acting: --user NAME (or set {env})",
        "请指明操作人：--user 用户名（或设置 {env}）",
    ),
    "auth.no_password": (
        "no password: set {env} or run the command on a terminal to be asked for it",
        "未提供密码：请设置 {env}，或在终端中运行本命令以输入密码",
    ),
    "auth.prompt": ("password for {name}: ", "{name} 的密码："),
    "auth.no_store": (
        "{path} is not an evidence store (no evidence.db): check the path; "
        "sealcam enrol or sealcam sync makes a store",
        "{path} 不是证据库（没有 evidence.db）：请检查路径；"
        "证据库由 sealcam enrol 或 sealcam sync 创建",
    ),
    "auth.unsigned": (
        "warning: the host key {path} cannot be used ({problem}): the action is recorded, "
        "and the next checkpoint will sign it",
        "警告：主机密钥 {path} 无法使用（{problem}）：操作已记录，将由下一个检查点签名",
    ),
    # retention and holds (host.retention, host.cli.retention; R-HOST-3, R-HOST-5)
    "cmd.retention": (
        "retention: the plan, the agency's policy, legal holds, deletion of media",
        "保存期限：删除计划、单位保存策略、法律保全、录像文件删除",
    ),
    "cmd.retention plan": (
        "what may be deleted and when, with the rule that decides, before anything is",
        "在任何删除之前，列出可删除的录像、可删除时间及所依据的规则",
    ),
    "cmd.retention policy": (
        "show or change the agency's retention periods (administrator)",
        "查看或修改本单位的保存期限（管理员）",
    ),
    "cmd.retention hold": (
        "place a legal hold on a recording or a case: no deletion until released",
        "对录像或案件设置法律保全：解除前不得删除",
    ),
    "cmd.retention release": (
        "release the legal holds on a recording or a case",
        "解除录像或案件的法律保全",
    ),
    "cmd.retention delete": (
        "ask for a recording's media to be deleted, once retention allows it",
        "保存期满后，申请删除录像文件",
    ),
    "cmd.retention approve": (
        "approve another user's deletion request (approver)",
        "审批他人的删除申请（审批人）",
    ),
    "cmd.retention undo": (
        "take a deletion back within its grace period",
        "在撤销期内撤回删除",
    ),
    "cmd.retention run": (
        "remove the media of approved deletions past their grace period",
        "删除已审批且撤销期已过的录像文件",
    ),
    "retention.opt_within": (
        "also list what becomes deletable within this many days (default 0: what may be "
        "deleted now)",
        "同时列出此天数内将可删除的录像（默认 0：仅列出现在可删除的）",
    ),
    "retention.opt_json": (
        "print JSON (times as UTC milliseconds)",
        "输出 JSON（时间为 UTC 毫秒）",
    ),
    "retention.opt_years": (
        "the default retention in years (at least 1; the regulations' default is 2)",
        "默认保存年限（至少 1 年；规定默认为 2 年）",
    ),
    "retention.opt_category": (
        "a category's own retention in years, or CATEGORY=default (repeatable)",
        "某一类别的保存年限，或 类别=default 恢复默认（可重复）",
    ),
    "retention.opt_after_close": (
        "years a case's recordings are kept after it closes (default: the default retention)",
        "案件结案后其录像的保存年限（默认：与默认保存年限相同）",
    ),
    "retention.opt_forever": (
        "keep a category forever as well as the regulations' permanent ones (repeatable)",
        "除规定的永久保存类别外，将此类别也永久保存（可重复）",
    ),
    "retention.opt_grace": (
        "days after an approval in which a deletion can be undone (default 30)",
        "删除审批后可撤销的天数（默认 30）",
    ),
    "retention.opt_item": (
        "the recording (DEVICE/N, as sealcam items lists it)",
        "录像编号（设备/序号，见 sealcam items）",
    ),
    "retention.opt_case": ("the case number", "案件编号"),
    "retention.opt_reason": ("why (kept in the audit trail)", "原因（记入审计日志）"),
    "retention.bad_days": (
        "give a whole number of days from 0 to 36500, not {text!r}",
        "请给出 0 至 36500 之间的整数天数，而不是 {text!r}",
    ),
    "retention.bad_category": (
        "{spec!r} names no category: give CATEGORY=YEARS or CATEGORY=default, the category "
        "one of {categories}",
        "{spec!r} 不是有效的类别设置：请给出 类别=年数 或 类别=default，"
        "类别为以下之一：{categories}",
    ),
    "retention.bad_years": (
        "{text!r} is not a number of years sealcam can keep: give a whole number from 1 to 100 "
        "(or default)",
        "{text!r} 不是可用的年数：请给出 1 至 100 的整数（或 default）",
    ),
    "retention.bad_grace": (
        "{text!r} is not a grace period: give a whole number of days from 0 to 3650",
        "{text!r} 不是可用的撤销期：请给出 0 至 3650 的整数天数",
    ),
    "retention.item_or_case": (
        "give a recording (ITEM) or a case (--case NUMBER), one of the two",
        "请给出录像（录像编号）或案件（--case 案件编号），二者选一",
    ),
    "retention.no_case": (
        "there is no case {case}: check the number (sealcam case list)",
        "不存在案件 {case}：请核对案件编号（sealcam case list）",
    ),
    "retention.not_held": (
        "{target} is under no hold: nothing was released",
        "{target} 未被保全：没有可解除的保全",
    ),
    "retention.no_reason": (
        "give a reason (--reason TEXT): it is kept in the audit trail",
        "请给出原因（--reason 原因）：原因将记入审计日志",
    ),
    "retention.not_recording": (
        "{item} is a derivative (an export, a clip), not a recording: retention deletes a "
        "recording's media only",
        "{item} 是派生文件（导出件、剪辑），不是原始录像：保存期限只删除原始录像文件",
    ),
    "retention.rule.default": (
        "the default retention: {years} years after recording",
        "默认保存期限：录制后 {years} 年",
    ),
    "retention.rule.category": (
        "category {category}: {years} years after recording",
        "类别 {category}：录制后 {years} 年",
    ),
    "retention.rule.case-closed": (
        "case {case} closed: kept {years} years after its closing",
        "案件 {case} 已结案：结案后保存 {years} 年",
    ),
    "retention.rule.case-open": (
        "case {case} is open: kept as long as its case file",
        "案件 {case} 未结案：随案卷保存",
    ),
    "retention.rule.major-case-evidence": (
        "evidence in major case {case}: kept forever",
        "重大案件 {case} 的证据：永久保存",
    ),
    "retention.rule.major-case": (
        "major or complex case {case}: kept forever",
        "重大、复杂案件 {case}：永久保存",
    ),
    "retention.rule.permanent-case-type": (
        "case {case} is of a type kept forever",
        "案件 {case} 属于永久保存的案件类型",
    ),
    "retention.rule.obstruction": (
        "obstruction of enforcement: kept forever",
        "妨碍执法：永久保存",
    ),
    "retention.rule.emergency": (
        "major emergency or mass incident: kept forever",
        "重大突发事件或群体性事件：永久保存",
    ),
    "retention.rule.agency-forever": (
        "category {category}, which the agency keeps forever",
        "类别 {category}，本单位规定永久保存",
    ),
    "retention.refused_held": (
        "{item} is under a legal hold{case} placed by {by} at {when} ({reason}): nothing is "
        "deleted until it is released (sealcam retention release)",
        "{item} 处于法律保全中{case}（由 {by} 于 {when} 设置，原因：{reason}）：解除保全前不得删除"
        "（sealcam retention release）",
    ),
    "retention.through_case": (" through case {case}", "（经由案件 {case}）"),
    "retention.refused_not_due": (
        "{item} must be kept until {until} ({rule}): it cannot be deleted before then",
        "{item} 须保存至 {until}（{rule}）：此前不得删除",
    ),
    "retention.refused_kept": (
        "{item} cannot be deleted: {rule}",
        "{item} 不得删除：{rule}",
    ),
    "retention.plan_head": (
        "Retention plan to {until}: {count} recording(s) may be deleted by then (default "
        "retention {years} years; a deletion can be undone for {grace} days after approval)",
        "截至 {until} 的删除计划：届时可删除录像 {count} 段"
        "（默认保存 {years} 年；审批后 {grace} 天内可撤销删除）",
    ),
    "retention.state_held": ("HELD: no deletion", "保全中：不得删除"),
    "retention.state_requested": ("deletion requested, awaiting approval", "已申请删除，待审批"),
    "retention.state_approved": (
        "deletion approved, final after {until}",
        "删除已审批，{until} 后生效",
    ),
    "retention.state_deleted": (
        "media deleted (ledger entries kept)",
        "录像文件已删除（签名日志保留）",
    ),
    "retention.state_deletable": ("may be deleted now", "现在可删除"),
    "retention.state_later": ("may be deleted from then", "届时可删除"),
    "retention.policy_years": (
        "Default retention      {years} years after recording",
        "默认保存期限      录制后 {years} 年",
    ),
    "retention.policy_categories": (
        "By category (years)    {categories}",
        "按类别（年）      {categories}",
    ),
    "retention.policy_after_close": (
        "After a case closes    {years} years",
        "结案后            {years} 年",
    ),
    "retention.policy_forever": (
        "Kept forever           categories {categories}; evidence in a major case; major or "
        "complex cases; case types {types}",
        "永久保存          类别 {categories}；重大案件的证据；重大、复杂案件；案件类型 {types}",
    ),
    "retention.policy_grace": (
        "Grace period           {days} days after approval",
        "撤销期            审批后 {days} 天",
    ),
    "retention.none": ("(none)", "（无）"),
    "retention.too_short": (
        "{what} would be {years} years: the regulations require at least 1 year; nothing "
        "was changed",
        "{what} 将为 {years} 年：规定至少保存 1 年；未作任何修改",
    ),
    "retention.permanent_category": (
        "category {category} is kept forever: a policy may not give it a shorter period; "
        "nothing was changed",
        "类别 {category} 须永久保存：保存策略不得缩短其期限；未作任何修改",
    ),
    "retention.held": (
        "{target} is under legal hold {hold}",
        "{target} 已设置法律保全（编号 {hold}）",
    ),
    "retention.released": (
        "{count} hold(s) on {target} released",
        "已解除 {target} 的 {count} 项保全",
    ),
    "retention.already": (
        "the deletion of {item} was already requested by {by}",
        "{item} 的删除已由 {by} 申请",
    ),
    "retention.requested": (
        "deletion of {item} requested: it needs an approver's approval (sealcam retention "
        "approve), and another user must give it",
        "已申请删除 {item}：须由另一名审批人审批（sealcam retention approve）",
    ),
    "retention.nothing_to_approve": (
        "there is no deletion request awaiting approval for {item}",
        "{item} 没有待审批的删除申请",
    ),
    "retention.own_request": (
        "you asked for the deletion of {item}: another user must approve it",
        "{item} 的删除由您本人申请：须由另一名用户审批",
    ),
    "retention.approved": (
        "deletion of {item} approved: it can be undone until {until}, and sealcam retention "
        "run deletes the media after that",
        "已批准删除 {item}：{until} 前可撤销，此后由 sealcam retention run 删除录像文件",
    ),
    "retention.nothing_to_undo": (
        "there is no deletion of {item} that can be undone",
        "{item} 没有可撤销的删除",
    ),
    "retention.grace_over": (
        "the grace period of {item}'s deletion ended at {until}: it can no longer be undone",
        "{item} 删除的撤销期已于 {until} 结束：不能再撤销",
    ),
    "retention.undone": ("deletion of {item} undone", "已撤销 {item} 的删除"),
    "retention.run_refused": ("{item} not deleted: {problem}", "{item} 未删除：{problem}"),
    "retention.run_done": (
        "{item}: {files} media file(s) deleted; its signed ledger entries are kept",
        "{item}：已删除录像文件 {files} 个；签名日志条目保留",
    ),
    "retention.run_none": (
        "no approved deletion is past its grace period: nothing deleted",
        "没有撤销期已过的已审批删除：未删除任何文件",
    ),
    "retention.export_deleted": (
        "recording {number} ({item}) has no footage to export: its media was deleted under "
        "the retention rules at {deleted}, approved by {approved_by} at {approved}; its "
        "signed ledger entries remain (sealcam verify shows the deletion)",
        "录像 {number}（{item}）没有可导出的画面：其录像文件已按保存期限规定于 {deleted} 删除，"
        "由 {approved_by} 于 {approved} 审批；签名日志条目仍保留（sealcam verify 显示此删除）",
    ),
    "verify.deleted_item": (
        "{item}, {files} file(s): requested by {requested_by}, approved by {approved_by} at "
        "{approved}, deleted at {deleted}",
        "{item}，{files} 个文件：由 {requested_by} 申请，{approved_by} 于 {approved} 审批，"
        "于 {deleted} 删除",
    ),
    "verify.deleted_authorised": (
        "{files} media file(s) were deleted under the retention rules, as the audit trail "
        "authorises (not a loss): {items}",
        "{files} 个录像文件已按保存期限规定删除，审计日志记录了其审批（并非丢失）：{items}",
    ),
}
