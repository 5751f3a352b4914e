"""Free-text pools for the generated dossiers (duties, majors, institutions, addresses …).

Plain data: tuples of NFC strings, chosen with ``Random.choice``. Nothing here is a code of a
code list; codes come from the catalogue.
"""

from __future__ import annotations

STREETS = (
    "Trần Phú",
    "Lê Lợi",
    "Nguyễn Huệ",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Quang Trung",
    "Nguyễn Trãi",
    "Hùng Vương",
    "Lê Duẩn",
    "Trần Hưng Đạo",
    "Phan Đình Phùng",
    "Điện Biên Phủ",
    "Nguyễn Du",
    "Bà Triệu",
    "Lê Hồng Phong",
    "Hoàng Diệu",
    "Ngô Quyền",
    "Nguyễn Văn Cừ",
    "Võ Thị Sáu",
    "Phạm Văn Đồng",
    "Nguyễn Thị Minh Khai",
    "Lê Thánh Tông",
    "Trường Chinh",
    "Tôn Đức Thắng",
    "Nguyễn Chí Thanh",
    "Cách Mạng Tháng Tám",
    "Hà Huy Tập",
)

OCCUPATION_BEFORE = (
    "Sinh viên",
    "Sinh viên",
    "Sinh viên",
    "Nhân viên hợp đồng",
    "Lao động tự do",
    "Nhân viên văn phòng",
    "Giáo viên hợp đồng",
)

OCCUPATIONS_PARENT_OLD = (
    "Nông dân",
    "Nghỉ hưu",
    "Cán bộ hưu trí",
    "Công nhân nghỉ hưu",
    "Giáo viên nghỉ hưu",
    "Bộ đội nghỉ hưu",
    "Nội trợ",
    "Buôn bán nhỏ",
)
OCCUPATIONS_ADULT = (
    "Nông dân",
    "Công nhân",
    "Giáo viên",
    "Kinh doanh tự do",
    "Nhân viên văn phòng",
    "Viên chức",
    "Công chức",
    "Kỹ sư",
    "Bác sĩ",
    "Điều dưỡng",
    "Kế toán",
    "Buôn bán nhỏ",
    "Lao động tự do",
    "Nội trợ",
    "Bộ đội",
    "Công an",
)
SPOUSE_UNITS = (
    "Công ty Cổ phần Xây dựng số 1",
    "Ngân hàng Thương mại Cổ phần Ngoại thương Việt Nam",
    "Bưu điện tỉnh",
    "Trường Trung học cơ sở thị trấn",
    "Bệnh viện Đa khoa khu vực",
    "Công ty Điện lực",
    "Chi cục Thuế khu vực",
    "Kho bạc Nhà nước khu vực",
    "Bảo hiểm xã hội khu vực",
    "Công ty Trách nhiệm hữu hạn Thương mại Hòa Bình",
)
MEMBERSHIPS_OLD_M = ("Hội Cựu chiến binh", "Hội Người cao tuổi", "Hội Nông dân", "Đảng viên")
MEMBERSHIPS_OLD_F = ("Hội Liên hiệp Phụ nữ", "Hội Người cao tuổi", "Hội Nông dân")
MEMBERSHIPS_ADULT = ("Công đoàn", "Đảng viên", "Hội Liên hiệp Phụ nữ", "Đoàn Thanh niên")

DUTIES_CENTRAL = (
    "Tham mưu xây dựng văn bản quy phạm pháp luật thuộc lĩnh vực được phân công",
    "Theo dõi, tổng hợp, báo cáo tình hình thực hiện nhiệm vụ của Bộ",
    "Thẩm định đề án, dự án thuộc lĩnh vực quản lý",
    "Hướng dẫn, kiểm tra các địa phương thực hiện chính sách",
    "Tham mưu công tác tổ chức bộ máy, biên chế",
    "Tổng hợp, xây dựng kế hoạch công tác năm",
    "Quản lý hồ sơ cán bộ, công chức, viên chức",
    "Theo dõi công tác cải cách hành chính",
)
DUTIES_PROVINCE = (
    "Tham mưu công tác tổ chức bộ máy, biên chế",
    "Theo dõi, tổng hợp công tác cán bộ, công chức, viên chức",
    "Thẩm định dự toán ngân sách của các đơn vị",
    "Tham mưu quản lý nhà nước về lĩnh vực được phân công",
    "Tổng hợp, báo cáo định kỳ",
    "Theo dõi công tác cải cách hành chính, chuyển đổi số",
    "Hướng dẫn, kiểm tra nghiệp vụ đối với cấp xã",
    "Tiếp nhận, giải quyết thủ tục hành chính",
)
DUTIES_COMMUNE = (
    "Văn phòng - thống kê",
    "Địa chính - xây dựng - đô thị và môi trường",
    "Tư pháp - hộ tịch",
    "Tài chính - kế toán",
    "Văn hóa - xã hội",
    "Tiếp nhận và trả kết quả thủ tục hành chính",
    "Quản lý đất đai, tài nguyên",
    "Lao động, thương binh và xã hội",
)
DUTIES_FINANCE = (
    "Thẩm định dự toán, quyết toán ngân sách",
    "Quản lý tài chính, kế toán của đơn vị",
    "Kiểm soát chi ngân sách nhà nước",
    "Quản lý giá và tài sản công",
    "Theo dõi nguồn vốn đầu tư công",
)
DUTIES_INSPECT = (
    "Thanh tra hành chính",
    "Giải quyết khiếu nại, tố cáo",
    "Phòng, chống tham nhũng, tiêu cực",
    "Thanh tra chuyên ngành",
    "Tiếp công dân",
)
DUTIES_ARCHIVE = ("Văn thư, lưu trữ", "Quản lý văn bản đi, đến và lưu trữ hồ sơ")
DUTIES_ACCOUNT = ("Kế toán đơn vị", "Kế toán, thủ quỹ", "Quản lý tài chính, kế toán của đơn vị")
DUTIES_CLERK = ("Hành chính, tổng hợp", "Nhập liệu, quản lý hồ sơ", "Hỗ trợ nghiệp vụ")
DUTIES_STAFF = ("Phục vụ, hành chính", "Lái xe", "Bảo vệ, tạp vụ", "Hỗ trợ hành chính")
DUTIES_TECH = (
    "Quản lý thiết bị, phòng thí nghiệm",
    "Kỹ thuật viên xét nghiệm",
    "Quản trị mạng, thiết bị tin học",
    "Kỹ thuật viên chẩn đoán hình ảnh",
)
DUTIES_ENGINEER = (
    "Nghiên cứu, triển khai ứng dụng khoa học công nghệ",
    "Quản trị hệ thống thông tin",
    "Thẩm định kỹ thuật",
    "Quản lý dự án",
)
SUBJECTS_THPT = (
    "Toán",
    "Ngữ văn",
    "Tiếng Anh",
    "Vật lý",
    "Hóa học",
    "Sinh học",
    "Lịch sử",
    "Địa lý",
    "Tin học",
    "Giáo dục thể chất",
    "Giáo dục kinh tế và pháp luật",
    "Công nghệ",
)
SUBJECTS_THCS = (
    "Toán",
    "Ngữ văn",
    "Tiếng Anh",
    "Khoa học tự nhiên",
    "Lịch sử và Địa lý",
    "Tin học",
    "Giáo dục công dân",
    "Giáo dục thể chất",
    "Âm nhạc",
    "Mỹ thuật",
    "Công nghệ",
)
#: Subject → major of the teacher's degree.
SUBJECT_MAJOR = {
    "Toán": "Sư phạm Toán học",
    "Ngữ văn": "Sư phạm Ngữ văn",
    "Tiếng Anh": "Sư phạm Tiếng Anh",
    "Vật lý": "Sư phạm Vật lý",
    "Hóa học": "Sư phạm Hóa học",
    "Sinh học": "Sư phạm Sinh học",
    "Lịch sử": "Sư phạm Lịch sử",
    "Địa lý": "Sư phạm Địa lý",
    "Tin học": "Sư phạm Tin học",
    "Giáo dục thể chất": "Giáo dục thể chất",
    "Công nghệ": "Sư phạm Kỹ thuật công nghiệp",
    "Giáo dục kinh tế và pháp luật": "Giáo dục chính trị",
    "Khoa học tự nhiên": "Sư phạm Khoa học tự nhiên",
    "Lịch sử và Địa lý": "Sư phạm Lịch sử - Địa lý",
    "Giáo dục công dân": "Giáo dục công dân",
    "Âm nhạc": "Sư phạm Âm nhạc",
    "Mỹ thuật": "Sư phạm Mỹ thuật",
}
CLINICAL_DEPTS = (
    "Nội tổng hợp",
    "Ngoại tổng hợp",
    "Sản",
    "Nhi",
    "Hồi sức tích cực - Chống độc",
    "Tim mạch",
    "Chẩn đoán hình ảnh",
    "Xét nghiệm",
    "Cấp cứu",
    "Truyền nhiễm",
    "Ung bướu",
    "Gây mê hồi sức",
    "Mắt",
    "Tai Mũi Họng",
    "Răng Hàm Mặt",
    "Y học cổ truyền",
)
#: Clinical department → specialty of a postgraduate degree.
CLINICAL_SPECIALTY = {
    "Nội tổng hợp": "Nội khoa",
    "Ngoại tổng hợp": "Ngoại khoa",
    "Sản": "Sản phụ khoa",
    "Nhi": "Nhi khoa",
    "Hồi sức tích cực - Chống độc": "Hồi sức cấp cứu",
    "Tim mạch": "Nội tim mạch",
    "Chẩn đoán hình ảnh": "Chẩn đoán hình ảnh",
    "Xét nghiệm": "Hóa sinh",
    "Cấp cứu": "Hồi sức cấp cứu",
    "Truyền nhiễm": "Truyền nhiễm và các bệnh nhiệt đới",
    "Ung bướu": "Ung thư",
    "Gây mê hồi sức": "Gây mê hồi sức",
    "Mắt": "Nhãn khoa",
    "Tai Mũi Họng": "Tai Mũi Họng",
    "Răng Hàm Mặt": "Răng Hàm Mặt",
    "Y học cổ truyền": "Y học cổ truyền",
}
CDC_DUTIES = (
    "Giám sát, phòng chống dịch bệnh truyền nhiễm",
    "Tiêm chủng mở rộng",
    "Phòng, chống bệnh không lây nhiễm",
    "Dinh dưỡng cộng đồng",
    "Sức khỏe môi trường - y tế trường học",
)
LECTURE_MAJORS = (
    "Quản lý công",
    "Luật hành chính",
    "Kinh tế học",
    "Tài chính - Ngân hàng",
    "Kế toán",
    "Ngôn ngữ Anh",
    "Công nghệ thông tin",
    "Toán học",
    "Văn học",
    "Lịch sử",
    "Xã hội học",
    "Khoa học máy tính",
    "Kỹ thuật xây dựng",
    "Khoa học môi trường",
    "Quan hệ quốc tế",
)
ADMIN_MAJORS = (
    "Luật",
    "Quản lý nhà nước",
    "Hành chính học",
    "Kinh tế",
    "Quản trị kinh doanh",
    "Kinh tế phát triển",
    "Xã hội học",
    "Công nghệ thông tin",
    "Quản lý đất đai",
    "Kỹ thuật xây dựng",
    "Khoa học môi trường",
    "Ngôn ngữ Anh",
    "Quan hệ quốc tế",
    "Chính trị học",
    "Quản lý kinh tế",
    "Kinh tế nông nghiệp",
    "Quản lý văn hóa",
)
FINANCE_MAJORS = ("Kế toán", "Tài chính - Ngân hàng", "Kiểm toán", "Kinh tế", "Quản lý kinh tế")
ENGINEER_MAJORS = (
    "Kỹ thuật phần mềm",
    "Kỹ thuật điện",
    "Kỹ thuật xây dựng",
    "Công nghệ sinh học",
    "Kỹ thuật y sinh",
    "Hệ thống thông tin",
    "Khoa học môi trường",
)
TECH_MAJORS = (
    "Kỹ thuật xét nghiệm y học",
    "Công nghệ thông tin",
    "Kỹ thuật hình ảnh y học",
    "Công nghệ kỹ thuật điện",
    "Thiết bị trường học",
)
UNIVERSITIES_EDU = (
    "Trường Đại học Sư phạm Hà Nội",
    "Trường Đại học Sư phạm Hà Nội 2",
    "Trường Đại học Vinh",
    "Trường Đại học Sư phạm - Đại học Huế",
    "Trường Đại học Sư phạm - Đại học Đà Nẵng",
    "Trường Đại học Sư phạm Thành phố Hồ Chí Minh",
    "Trường Đại học Cần Thơ",
    "Trường Đại học Sư phạm - Đại học Thái Nguyên",
    "Trường Đại học Quy Nhơn",
    "Trường Đại học Hồng Đức",
)
UNIVERSITIES_MED = (
    "Trường Đại học Y Hà Nội",
    "Trường Đại học Y Dược Thành phố Hồ Chí Minh",
    "Trường Đại học Y Dược - Đại học Huế",
    "Trường Đại học Y Dược Thái Bình",
    "Trường Đại học Y Dược Cần Thơ",
    "Trường Đại học Y khoa Vinh",
    "Học viện Quân y",
    "Trường Đại học Y Dược Hải Phòng",
)
UNIVERSITIES_GENERAL = (
    "Học viện Hành chính Quốc gia",
    "Trường Đại học Luật Hà Nội",
    "Trường Đại học Kinh tế Quốc dân",
    "Học viện Tài chính",
    "Trường Đại học Kinh tế Thành phố Hồ Chí Minh",
    "Trường Đại học Bách khoa Hà Nội",
    "Trường Đại học Khoa học Xã hội và Nhân văn",
    "Trường Đại học Kinh tế - Đại học Đà Nẵng",
    "Trường Đại học Cần Thơ",
    "Trường Đại học Nông Lâm Thành phố Hồ Chí Minh",
    "Học viện Nông nghiệp Việt Nam",
    "Trường Đại học Thương mại",
    "Trường Đại học Vinh",
    "Trường Đại học Luật Thành phố Hồ Chí Minh",
    "Học viện Báo chí và Tuyên truyền",
    "Trường Đại học Công nghệ - Đại học Quốc gia Hà Nội",
)
VOCATIONAL = (
    "Trường Cao đẳng Kinh tế - Kế hoạch",
    "Trường Trung cấp Văn thư Lưu trữ Trung ương",
    "Trường Cao đẳng Nội vụ Hà Nội",
    "Trường Cao đẳng Công nghệ thông tin",
    "Trường Cao đẳng Kỹ thuật Công nghệ",
)
MED_VOCATIONAL = ("Trường Cao đẳng Y tế", "Trường Trung cấp Y tế", "Trường Cao đẳng Y Dược")
FOREIGN_UNIVERSITIES = (
    "Đại học Quốc gia Úc, Ô-xtrây-li-a",
    "Đại học Tokyo, Nhật Bản",
    "Đại học Paris 1, Cộng hòa Pháp",
    "Đại học Quốc gia Seoul, Hàn Quốc",
    "Đại học Leeds, Vương quốc Anh",
)
HIGH_POLITICAL_SCHOOLS = (
    "Học viện Chính trị quốc gia Hồ Chí Minh",
    "Học viện Chính trị khu vực I",
    "Học viện Chính trị khu vực II",
    "Học viện Chính trị khu vực III",
)
IT_CENTRES = (
    "Trung tâm Tin học - Ngoại ngữ",
    "Trung tâm Giáo dục thường xuyên",
    "Trung tâm Tin học",
)
LANGUAGE_CENTRES = (
    "Trung tâm Ngoại ngữ - Tin học",
    "Trung tâm Ngoại ngữ",
    "Hội đồng Anh",
    "IDP Education",
    "Trung tâm Khảo thí",
)
VIOLATIONS = (
    "Vi phạm quy định về thời gian làm việc",
    "Thiếu trách nhiệm trong thực hiện nhiệm vụ được giao",
    "Vi phạm quy định về quản lý tài chính, tài sản công",
    "Vi phạm quy chế làm việc của cơ quan",
    "Chậm giải quyết thủ tục hành chính cho công dân",
)
ASSESSMENTS = (
    "Có phẩm chất chính trị vững vàng, đạo đức lối sống tốt, hoàn thành tốt nhiệm vụ được giao.",
    "Có tinh thần trách nhiệm, đoàn kết nội bộ, chấp hành tốt chủ trương, chính sách của Đảng và pháp luật của Nhà nước.",
    "Nắm vững chuyên môn, nghiệp vụ; tích cực học tập, nâng cao trình độ.",
    "Chấp hành nghiêm kỷ luật, kỷ cương hành chính; có ý thức phục vụ nhân dân.",
)
STRENGTHS = (
    "Tổng hợp, phân tích, tham mưu",
    "Xây dựng văn bản",
    "Giảng dạy, bồi dưỡng học sinh giỏi",
    "Khám, chữa bệnh nội khoa",
    "Ứng dụng công nghệ thông tin",
    "Giao tiếp, vận động quần chúng",
    "Quản lý tài chính",
    "Thanh tra, kiểm tra",
)
OTHER_INCOME = (
    "Không",
    "Thu nhập từ lương của vợ/chồng",
    "Kinh doanh nhỏ",
    "Cho thuê nhà",
    "Sản xuất nông nghiệp",
)
